using Steer.Tun.Linux;

namespace Steer.Tun.Tests;

public sealed class LinuxErrorsUnitTests
{
    private const string Executable = "/usr/local/bin/steer";

    [Fact]
    public void TunCreateFailed_Eperm_IsPermissionDeniedWithRootAndSetcapHint()
    {
        TunException e = LinuxErrors.TunCreateFailed("steer0", "open /dev/net/tun", LinuxErrors.EPERM, Executable);

        Assert.True(e.IsPermissionDenied);
        Assert.Equal(LinuxErrors.EPERM, e.ErrorCode);
        Assert.Equal(
            "Creating TUN device 'steer0' needs root or CAP_NET_ADMIN (open /dev/net/tun: Operation not permitted). "
            + "Run with sudo, or grant the capability: sudo setcap cap_net_admin+ep /usr/local/bin/steer",
            e.Message);
    }

    [Fact]
    public void TunCreateFailed_EaccesOnTunsetiff_IsPermissionDenied()
    {
        TunException e = LinuxErrors.TunCreateFailed("steer%d", "ioctl(TUNSETIFF)", LinuxErrors.EACCES, Executable);

        Assert.True(e.IsPermissionDenied);
        Assert.StartsWith("Creating TUN device 'steer%d' needs root or CAP_NET_ADMIN (ioctl(TUNSETIFF): Permission denied).", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TunCreateFailed_EnoentOnOpen_SaysTheTunModuleIsMissing()
    {
        TunException e = LinuxErrors.TunCreateFailed("steer0", "open /dev/net/tun", LinuxErrors.ENOENT, Executable);

        Assert.False(e.IsPermissionDenied);
        Assert.Equal(LinuxErrors.ENOENT, e.ErrorCode);
        Assert.Contains("No such file or directory", e.Message, StringComparison.Ordinal);
        Assert.Contains("modprobe tun", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TunCreateFailed_EbusyOnTunsetiff_SaysTheNameIsTaken()
    {
        TunException e = LinuxErrors.TunCreateFailed("steer0", "ioctl(TUNSETIFF)", LinuxErrors.EBUSY, Executable);

        Assert.False(e.IsPermissionDenied);
        Assert.Contains("EBUSY", e.Message, StringComparison.Ordinal);
        Assert.Contains("already uses", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OperationFailed_Enodev_NamesOperationObjectAndErrno()
    {
        TunException e = LinuxErrors.OperationFailed("add route 198.18.2.0/24 dev #7 table 254", LinuxErrors.ENODEV, null, Executable);

        Assert.False(e.IsPermissionDenied);
        Assert.Equal(LinuxErrors.ENODEV, e.ErrorCode);
        Assert.Equal("Cannot add route 198.18.2.0/24 dev #7 table 254: No such device (ENODEV).", e.Message);
    }

    [Fact]
    public void OperationFailed_WithKernelMessage_AppendsIt()
    {
        TunException e = LinuxErrors.OperationFailed("add route 198.18.2.0/24 dev #7 via 10.0.0.1 table 254", LinuxErrors.ENETUNREACH, "Nexthop has invalid gateway", Executable);

        Assert.EndsWith("Network is unreachable (ENETUNREACH). Kernel: Nexthop has invalid gateway.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OperationFailed_Eperm_IsPermissionDeniedWithHint()
    {
        TunException e = LinuxErrors.OperationFailed("add address 198.18.250.1/24 dev #7", LinuxErrors.EPERM, null, Executable);

        Assert.True(e.IsPermissionDenied);
        Assert.Equal(
            "Cannot add address 198.18.250.1/24 dev #7: this needs root or CAP_NET_ADMIN (Operation not permitted). "
            + "Run with sudo, or grant the capability: sudo setcap cap_net_admin+ep /usr/local/bin/steer",
            e.Message);
    }

    [Theory]
    [InlineData("/usr/share/dotnet/dotnet")]
    [InlineData(null)]
    [InlineData("")]
    public void PrivilegeHint_UnderDotnetHostOrUnknown_UsesPlaceholder(string? path)
    {
        Assert.EndsWith("setcap cap_net_admin+ep <path to the steer executable>", LinuxErrors.PrivilegeHint(path), StringComparison.Ordinal);
    }

    [Fact]
    public void PacketIoFailed_Eio_ExplainsTheLinkIsDown()
    {
        TunException e = LinuxErrors.PacketIoFailed("write to", "steer0", LinuxErrors.EIO, "Input/output error", null);

        Assert.Equal(LinuxErrors.EIO, e.ErrorCode);
        Assert.StartsWith("Cannot write to TUN device 'steer0': Input/output error, EIO. The interface is down", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "EPERM")]
    [InlineData(13, "EACCES")]
    [InlineData(19, "ENODEV")]
    [InlineData(99, "EADDRNOTAVAIL")]
    [InlineData(4242, "errno 4242")]
    public void Name_MapsErrnoToSymbol(int errno, string expected)
    {
        Assert.Equal(expected, LinuxErrors.Name(errno));
    }
}
