namespace Steer.Tun.Tests;

public sealed class TunDeviceOptionsUnitTests
{
    [Theory]
    [InlineData("steer%d")]
    [InlineData("steer0")]
    [InlineData("a23456789012345")] // 15 bytes
    [InlineData("tun-é")]
    public void Validate_ValidName_DoesNotThrow(string name)
    {
        new TunDeviceOptions { Name = name }.Validate("options");
    }

    [Theory]
    [InlineData("a234567890123456")] // 16 bytes
    [InlineData("ääääääää")]         // 8 characters, 16 UTF-8 bytes
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData("..")]
    [InlineData("tun%s")]
    [InlineData("tun%d%d")]
    [InlineData("tun%")]
    public void Create_InvalidName_ThrowsArgumentExceptionNamingTheOption(string name)
    {
        // Validation happens before anything touches the OS, so this runs without privileges.
        ArgumentException e = Assert.Throws<ArgumentException>(() => TunDevice.Create(new TunDeviceOptions { Name = name }));

        Assert.Equal("options.Name", e.ParamName);
        Assert.Contains("TunDeviceOptions.Name", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(575)]
    [InlineData(65536)]
    [InlineData(0)]
    [InlineData(-1)]
    public void Create_MtuOutOfRange_ThrowsArgumentExceptionNamingTheOption(int mtu)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => TunDevice.Create(new TunDeviceOptions { Mtu = mtu }));

        Assert.Equal("options.Mtu", e.ParamName);
        Assert.Contains("576", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(576)]
    [InlineData(1400)]
    [InlineData(65535)]
    public void Validate_MtuInRange_DoesNotThrow(int mtu)
    {
        new TunDeviceOptions { Mtu = mtu }.Validate("options");
    }

    [Fact]
    public void IsSupported_OnLinux_IsTrue()
    {
        Assert.Equal(OperatingSystem.IsLinux(), TunDevice.IsSupported);
        Assert.Equal(OperatingSystem.IsLinux(), Router.IsSupported);
    }
}
