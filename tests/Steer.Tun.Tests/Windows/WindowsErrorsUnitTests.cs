using Steer.Tun.Windows;

namespace Steer.Tun.Tests.Windows;

public sealed class WindowsErrorsUnitTests
{
    [Theory]
    [InlineData(5)]
    [InlineData(740)]
    public void TunCreateFailed_AccessDenied_AsksForAdministrator(int error)
    {
        TunException e = WindowsErrors.TunCreateFailed("Steer", "WintunCreateAdapter", error);

        Assert.True(e.IsPermissionDenied);
        Assert.Equal(error, e.ErrorCode);
        Assert.StartsWith("Creating Wintun adapter 'Steer' needs Administrator rights (WintunCreateAdapter: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("elevated prompt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OperationFailed_NamesTheOperationAndCode()
    {
        TunException e = WindowsErrors.OperationFailed("add route 10.0.0.0/8 dev #12 table 254", 1168);

        Assert.False(e.IsPermissionDenied);
        Assert.StartsWith("Cannot add route 10.0.0.0/8 dev #12 table 254: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("1168", e.Message, StringComparison.Ordinal);
    }
}
