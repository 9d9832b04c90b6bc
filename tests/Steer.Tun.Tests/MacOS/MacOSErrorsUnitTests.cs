using Steer.Tun.MacOS;

namespace Steer.Tun.Tests.MacOS;

public sealed class MacOSErrorsUnitTests
{
    [Fact]
    public void TunCreateFailed_Eperm_IsPermissionDeniedWithSudoHint()
    {
        TunException e = MacOSErrors.TunCreateFailed("utun%d", "connect(utun_control, unit 0)", MacOSErrors.EPERM);

        Assert.True(e.IsPermissionDenied);
        Assert.Equal(MacOSErrors.EPERM, e.ErrorCode);
        Assert.StartsWith("Creating utun device 'utun%d' needs root (connect(utun_control, unit 0): ", e.Message, StringComparison.Ordinal);
        Assert.Contains("EPERM", e.Message, StringComparison.Ordinal);
        Assert.Contains("sudo", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TunCreateFailed_Ebusy_SuggestsTheNextFreeUnit()
    {
        TunException e = MacOSErrors.TunCreateFailed("utun3", "connect(utun_control, unit 4)", MacOSErrors.EBUSY);

        Assert.False(e.IsPermissionDenied);
        Assert.Contains("EBUSY", e.Message, StringComparison.Ordinal);
        Assert.Contains("utun%d", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OperationFailed_NamesTheOperationAndMacOSErrno()
    {
        TunException e = MacOSErrors.OperationFailed("add route 10.0.0.0/8 dev #12 table 254", MacOSErrors.ENETUNREACH);

        Assert.StartsWith("Cannot add route 10.0.0.0/8 dev #12 table 254: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("ENETUNREACH", e.Message, StringComparison.Ordinal);
        Assert.Equal(51, e.ErrorCode);
    }
}
