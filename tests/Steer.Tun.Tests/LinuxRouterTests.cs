using System.Net;
using System.Net.Sockets;

namespace Steer.Tun.Tests;

/// <summary>Router tests that only read the routing tables, which needs no privileges.</summary>
public sealed class LinuxRouterTests
{
    [Fact]
    public void Lookup_Loopback_ReturnsLocalRouteWithoutPrivileges()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The router is only implemented on Linux.");
        using IRouter router = Router.Create();

        RouteEntry? route = router.Lookup(IPAddress.Loopback);

        Assert.NotNull(route);
        Assert.Equal(1, route.InterfaceIndex); // lo
        Assert.Equal(IPNetwork.Parse("127.0.0.1/32"), route.Destination);
        // The local table (255), or main (254) while Linux keeps the two merged because there are no policy rules.
        Assert.Contains(route.Table, new[] { 254, 255 });
    }

    [Fact]
    public void Lookup_AfterDispose_ThrowsObjectDisposed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The router is only implemented on Linux.");
        IRouter router = Router.Create();
        router.Dispose();
        router.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => router.Lookup(IPAddress.Loopback));
    }

    [Fact]
    public void AddRoute_MixedFamilies_ThrowsArgumentException()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The router is only implemented on Linux.");
        using IRouter router = Router.Create();

        Assert.Throws<ArgumentException>(() => router.AddRoute(new RouteEntry(IPNetwork.Parse("198.18.251.0/24"), 1, IPAddress.Parse("fd00::1"))));
        Assert.Throws<ArgumentException>(() => router.AddRoute(new RouteEntry(IPNetwork.Parse("198.18.251.0/24"), 0)));
    }

    [Fact]
    public void AddRule_InvalidRules_ThrowArgumentExceptionBeforeAskingTheKernel()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The router is only implemented on Linux.");
        using IRouter router = Router.Create();
        Assert.True(router.SupportsPolicyRules);

        RoutingRule[] invalid =
        [
            new(AddressFamily.Unspecified, 100, 5354),
            new(AddressFamily.InterNetwork, -1, 5354),
            new(AddressFamily.InterNetwork, 100, 0),
            new(AddressFamily.InterNetwork, 100, 5354) { Destination = IPNetwork.Parse("fd53:7ee7::/32") },
            new(AddressFamily.InterNetwork, 100, 5354) { DestinationPorts = (0, 80) },
            new(AddressFamily.InterNetwork, 100, 5354) { DestinationPorts = (443, 80) },
            new(AddressFamily.InterNetwork, 100, 5354) { SuppressPrefixLength = 33 },
            new(AddressFamily.InterNetwork, 100, 5354) { IpProtocol = (ProtocolType)300 },
        ];
        foreach (RoutingRule rule in invalid)
        {
            Assert.Throws<ArgumentException>(() => router.AddRule(rule));
        }
    }

    [Fact]
    public void AddRoute_RouteTypeWithoutInterfaceGivenOne_ThrowsArgumentException()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The router is only implemented on Linux.");
        using IRouter router = Router.Create();

        Assert.Throws<ArgumentException>(() => router.AddRoute(new RouteEntry(IPNetwork.Parse("198.18.58.0/24"), 1, Table: 5354) { Type = RouteType.Throw }));
        Assert.Throws<ArgumentException>(() => RouteEntry.WithoutInterface(RouteType.Unicast, IPNetwork.Parse("198.18.58.0/24"), 5354));
        Assert.Throws<ArgumentOutOfRangeException>(() => router.FlushTable(255, AddressFamily.InterNetwork));
    }
}
