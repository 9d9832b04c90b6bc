using System.Net;

namespace Steer.Tun.Tests;

public sealed class InterfaceAddressUnitTests
{
    [Fact]
    public void Parse_Ipv4WithPrefix_KeepsHostBitsAndMasksNetwork()
    {
        InterfaceAddress address = InterfaceAddress.Parse("100.64.0.2/24");

        Assert.Equal(IPAddress.Parse("100.64.0.2"), address.Address);
        Assert.Equal(24, address.PrefixLength);
        Assert.Equal(IPNetwork.Parse("100.64.0.0/24"), address.Network);
        Assert.Equal("100.64.0.2/24", address.ToString());
    }

    [Fact]
    public void Parse_Ipv6WithPrefix_MasksNetwork()
    {
        InterfaceAddress address = InterfaceAddress.Parse("fd53:7ee7:250::1/64");

        Assert.Equal(64, address.PrefixLength);
        Assert.Equal(IPNetwork.Parse("fd53:7ee7:250::/64"), address.Network);
    }

    [Theory]
    [InlineData("198.18.250.1", 32)]
    [InlineData("fd00::2", 128)]
    public void Parse_WithoutPrefix_IsHostAddress(string text, int expectedPrefix)
    {
        Assert.Equal(expectedPrefix, InterfaceAddress.Parse(text).PrefixLength);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("abc")]
    [InlineData("1.2.3.4/33")]
    [InlineData("fd00::1/129")]
    [InlineData("1.2.3.4/-1")]
    [InlineData("1.2.3.4/")]
    [InlineData("1.2.3.4/+8")]
    public void TryParse_Invalid_ReturnsFalse(string text)
    {
        Assert.False(InterfaceAddress.TryParse(text, out _));
        Assert.Throws<FormatException>(() => InterfaceAddress.Parse(text));
    }

    [Theory]
    [InlineData("198.18.250.129", 25, "198.18.250.128")]
    [InlineData("198.18.250.129", 0, "0.0.0.0")]
    [InlineData("198.18.250.129", 32, "198.18.250.129")]
    [InlineData("10.255.255.255", 9, "10.128.0.0")]
    [InlineData("fd53:7ee7:250:ffff::1", 52, "fd53:7ee7:250:f000::")]
    public void Mask_ClearsHostBits(string address, int prefix, string expected)
    {
        Assert.Equal(IPAddress.Parse(expected), InterfaceAddress.Mask(IPAddress.Parse(address), prefix));
    }
}
