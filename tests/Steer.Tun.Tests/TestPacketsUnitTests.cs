using System.Net;

namespace Steer.Tun.Tests;

public sealed class TestPacketsUnitTests
{
    [Fact]
    public void InternetChecksum_KnownIpv4Header_MatchesPublishedValue()
    {
        // A well-known sample header whose checksum field holds 0xB861.
        byte[] header = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7];

        Assert.Equal(0xB861, TestPackets.InternetChecksum(header));
        header[10] = 0xB8;
        header[11] = 0x61;
        Assert.Equal(0, TestPackets.InternetChecksum(header));
    }

    [Fact]
    public void Ipv4EchoRequest_HasValidChecksums()
    {
        byte[] packet = TestPackets.Ipv4EchoRequest(IPAddress.Parse("198.18.250.2"), IPAddress.Parse("198.18.250.1"), 0x1234, 1, "steer"u8);

        Assert.Equal(33, packet.Length);
        Assert.Equal(0, TestPackets.InternetChecksum(packet.AsSpan(0, 20)));
        Assert.Equal(0, TestPackets.InternetChecksum(packet.AsSpan(20))); // odd length ICMP message
    }
}
