using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Steer.Tun.Windows;

namespace Steer.Tun.Tests.Windows;

/// <summary>SOCKADDR_INET byte for byte: family (little-endian USHORT), port, then the IPv4 or IPv6 layout.</summary>
public sealed class SockaddrInetUnitTests
{
    [Fact]
    public void From_Ipv4_IsAfInetAndAddressAtOffset4()
    {
        byte[] expected =
        [
            0x02, 0x00, 0x00, 0x00, 0xC6, 0x12, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];

        Assert.Equal(expected, Bytes(SockaddrInet.From(IPAddress.Parse("198.18.2.1"))));
    }

    [Fact]
    public void From_ScopedIpv6_IsAfInet6With23AndScopeAtOffset24()
    {
        byte[] expected =
        [
            0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xFE, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            0x0C, 0x00, 0x00, 0x00,
        ];

        Assert.Equal(expected, Bytes(SockaddrInet.From(IPAddress.Parse("fe80::1%12"))));
    }

    [Theory]
    [InlineData("198.18.2.1")]
    [InlineData("fd53:7ee7:250::2")]
    [InlineData("fe80::1%7")]
    public void ToAddress_RoundTrips(string text)
    {
        IPAddress address = IPAddress.Parse(text);
        Assert.Equal(address, SockaddrInet.ToAddress(SockaddrInet.From(address)));
    }

    [Fact]
    public void ToAddress_Unspec_IsNull()
    {
        Assert.Null(SockaddrInet.ToAddress(default));
    }

    [Fact]
    public void Unspecified_IsTheFamilysZeroAddress()
    {
        Assert.Equal(IPAddress.Any, SockaddrInet.ToAddress(SockaddrInet.Unspecified(AddressFamily.InterNetwork)));
        Assert.Equal(IPAddress.IPv6Any, SockaddrInet.ToAddress(SockaddrInet.Unspecified(AddressFamily.InterNetworkV6)));
    }

    private static byte[] Bytes(Interop.SOCKADDR_INET value)
        => MemoryMarshal.AsBytes(MemoryMarshal.CreateReadOnlySpan(ref value, 1)).ToArray();
}
