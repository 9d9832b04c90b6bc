using System.Net;

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
}
