using System.Net;
using Steer.Protocol;

namespace Steer.Core.Tests.Protocol;

public class IpPacketTests
{
    private static byte[] V4(string source, string destination)
    {
        byte[] p = new byte[20];
        p[0] = 0x45;
        IPAddress.Parse(source).TryWriteBytes(p.AsSpan(12), out _);
        IPAddress.Parse(destination).TryWriteBytes(p.AsSpan(16), out _);
        return p;
    }

    private static byte[] V6(string source, string destination)
    {
        byte[] p = new byte[40];
        p[0] = 0x60;
        IPAddress.Parse(source).TryWriteBytes(p.AsSpan(8), out _);
        IPAddress.Parse(destination).TryWriteBytes(p.AsSpan(24), out _);
        return p;
    }

    [Fact]
    public void Reads_addresses_in_network_order()
    {
        byte[] v4 = V4("100.64.0.2", "198.18.2.2");
        Assert.Equal(IpPacket.ToUInt32(IPAddress.Parse("100.64.0.2")), IpPacket.GetIPv4Source(v4));
        Assert.Equal(0xC6120202u, IpPacket.GetIPv4Destination(v4));

        byte[] v6 = V6("fd53:7ee7:ff::2", "fd53:7ee7:2::2");
        Assert.Equal(IpPacket.ToUInt128(IPAddress.Parse("fd53:7ee7:ff::2")), IpPacket.GetIPv6Source(v6));
        Assert.Equal(IpPacket.ToUInt128(IPAddress.Parse("fd53:7ee7:2::2")), IpPacket.GetIPv6Destination(v6));
    }

    [Theory]
    [InlineData(new byte[0], 0)]
    [InlineData(new byte[] { 0x45, 0, 0 }, 0)]
    [InlineData(new byte[] { 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 0)]
    [InlineData(new byte[] { 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 0)]
    public void Rejects_short_or_unknown_packets(byte[] packet, int version)
        => Assert.Equal(version, IpPacket.GetVersion(packet));

    [Theory]
    [InlineData("100.64.0.2", "198.18.2.2", true)]
    [InlineData("100.64.0.2", "224.0.0.22", false)]
    [InlineData("100.64.0.2", "255.255.255.255", false)]
    public void Ipv4_unicast_is_tunnelled_multicast_and_broadcast_are_not(string source, string destination, bool expected)
        => Assert.Equal(expected, IpPacket.IsTunnelable(V4(source, destination)));

    [Theory]
    [InlineData("fd53:7ee7:ff::2", "fd53:7ee7:2::2", true)]
    [InlineData("fe80::1", "fd53:7ee7:2::2", false)]
    [InlineData("fd53:7ee7:ff::2", "ff02::16", false)]
    [InlineData("::", "ff02::1:ff00:2", false)]
    public void Ipv6_unicast_is_tunnelled_link_local_and_multicast_are_not(string source, string destination, bool expected)
        => Assert.Equal(expected, IpPacket.IsTunnelable(V6(source, destination)));
}
