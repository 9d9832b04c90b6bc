using System.Net;

namespace Steer.Tun.Tests;

/// <summary>
/// What a user without CAP_NET_ADMIN sees. These run only without the capability (a developer's plain account);
/// under root, including CI, they skip, and the errno-to-message mapping is covered by <see cref="LinuxErrorsUnitTests"/>.
/// </summary>
public sealed class UnprivilegedTests
{
    [Fact]
    public void Create_WithoutCapNetAdmin_ThrowsPermissionDeniedWithHint()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && File.Exists("/dev/net/tun"), "Needs Linux with /dev/net/tun.");
        Assert.SkipWhen(Elevation.HasCapNetAdmin, "Runs only without CAP_NET_ADMIN; LinuxErrorsUnitTests cover the message.");

        TunException e = Assert.Throws<TunException>(() => TunDevice.Create(new TunDeviceOptions { Name = "steer%d" }));

        Assert.True(e.IsPermissionDenied, e.Message);
        Assert.StartsWith("Creating TUN device 'steer%d' needs root or CAP_NET_ADMIN (", e.Message, StringComparison.Ordinal);
        Assert.Contains("setcap cap_net_admin+ep", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddRoute_WithoutCapNetAdmin_ThrowsPermissionDeniedNamingTheRoute()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The router is only implemented on Linux.");
        Assert.SkipWhen(Elevation.HasCapNetAdmin, "Runs only without CAP_NET_ADMIN; LinuxErrorsUnitTests cover the message.");
        using IRouter router = Router.Create();

        TunException e = Assert.Throws<TunException>(() => router.AddRoute(new RouteEntry(IPNetwork.Parse("198.18.251.0/24"), 1)));

        Assert.True(e.IsPermissionDenied, e.Message);
        Assert.StartsWith("Cannot add route 198.18.251.0/24 dev #1 table 254: this needs root or CAP_NET_ADMIN", e.Message, StringComparison.Ordinal);
    }
}
