using Steer.Tun.Windows;

namespace Steer.Tun.Tests.Windows;

public sealed class WintunAdapterSettingsUnitTests
{
    [Theory]
    [InlineData("steer%d", "Steer")]
    [InlineData("tun%d", "Steer")]
    [InlineData("Corp VPN", "Corp VPN")]
    public void AdapterName_PatternBecomesSteer(string requested, string expected)
    {
        Assert.Equal(expected, WintunAdapterSettings.AdapterName(requested));
    }

    [Fact]
    public void GuidFor_IsFixedPerNameAndCaseInsensitive()
    {
        Assert.Equal(WintunAdapterSettings.DefaultGuid, WintunAdapterSettings.GuidFor("Steer"));
        Assert.Equal(WintunAdapterSettings.GuidFor("Steer"), WintunAdapterSettings.GuidFor("STEER"));
        Assert.NotEqual(WintunAdapterSettings.GuidFor("Steer"), WintunAdapterSettings.GuidFor("Corp VPN"));
    }

    [Fact]
    public void GuidFor_IsAnRfc9562Version8Guid()
    {
        byte[] bytes = WintunAdapterSettings.DefaultGuid.ToByteArray(bigEndian: true);

        Assert.Equal(0x80, bytes[6] & 0xF0); // version 8
        Assert.Equal(0x80, bytes[8] & 0xC0); // variant 10
    }
}
