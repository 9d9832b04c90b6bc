using System.Buffers.Binary;
using Steer.Tun.Linux.Offload;
using static Steer.Tun.Tests.Offload.OffloadTestPackets;

namespace Steer.Tun.Tests.Offload;

public sealed class TcpSegmenterUnitTests
{
    private static readonly Dictionary<string, Spec> s_superPackets = new()
    {
        { "v4 plain, last segment shorter", new Spec { PayloadLength = 10_000 } },
        { "v4 exact multiple", new Spec { PayloadLength = 1_360 * 7 } },
        { "v4 one segment", new Spec { PayloadLength = 100 } },
        { "v4 IP options + 40-byte TCP options", new Spec { IpOptionsLength = 12, TcpOptionsLength = 40, PayloadLength = 9_999 } },
        { "v4 FIN+PSH+CWR+ECE", new Spec { Flags = Ack | Psh | Fin | Cwr | Ece, PayloadLength = 5_000 } },
        { "v4 64 KiB, odd segment size", new Spec { PayloadLength = 65_535 - 52, SegmentSize = 1_337, Seed = 2 } },
        { "v4 segment size 1", new Spec { PayloadLength = 37, SegmentSize = 1 } },
        { "v4 no TCP options", new Spec { TcpOptionsLength = 0, PayloadLength = 4_321 } },
        { "v6 plain", new Spec { IPv6 = true, PayloadLength = 10_000, SegmentSize = 1_340 } },
        { "v6 hop-by-hop extension header", new Spec { IPv6 = true, HopByHopHeader = true, PayloadLength = 6_001, SegmentSize = 1_332 } },
        { "v6 FIN+PSH+CWR, exact multiple", new Spec { IPv6 = true, Flags = Ack | Psh | Fin | Cwr, PayloadLength = 1_340 * 3 } },
        { "v6 64 KiB", new Spec { IPv6 = true, PayloadLength = 65_536 - 72, SegmentSize = 1_428, Seed = 9 } },
    };

    public static TheoryData<string> SuperPackets() => new(s_superPackets.Keys);

    [Theory]
    [MemberData(nameof(SuperPackets))]
    public void WriteSegment_EverySegment_IsAValidTcpPacketAndPayloadsConcatenate(string name)
    {
        Spec spec = s_superPackets[name];
        byte[] packet = SuperPacket(spec);
        VirtioNetHeader header = GsoHeader(spec);

        OffloadDropReason reason = TcpSegmenter.TryPlan(packet, header, out GsoPlan plan);

        Assert.True(reason == OffloadDropReason.None, $"{name}: {reason}");
        Assert.Equal(spec.HeaderLength, plan.HeaderLength);
        Assert.Equal(spec.IpHeaderLength, plan.IpHeaderLength);
        var segments = new List<byte[]>();
        byte[] destination = new byte[2_000];
        for (int i = 0; i < plan.SegmentCount; i++)
        {
            Array.Fill(destination, (byte)0xCC); // stale bytes must not leak into a segment
            int length = TcpSegmenter.WriteSegment(packet, plan, i, destination);
            Assert.Equal(plan.SegmentLength(i), length);
            segments.Add(destination.AsSpan(0, length).ToArray());
        }

        AssertSegments(spec, packet, segments);
    }

    [Fact]
    public void TryPlan_UntrustedHeaderLength_UsesTheTcpDataOffset()
    {
        // On the forwarding path hdr_len can be the whole linear part; it must not change the segmentation.
        var spec = new Spec { PayloadLength = 3_000 };
        byte[] packet = SuperPacket(spec);
        VirtioNetHeader header = GsoHeader(spec) with { HeaderLength = 1_500 };

        Assert.Equal(OffloadDropReason.None, TcpSegmenter.TryPlan(packet, header, out GsoPlan plan));
        Assert.Equal(spec.HeaderLength, plan.HeaderLength);
    }

    [Fact]
    public void TryPlan_EcnFlagOnGsoType_IsAccepted()
    {
        var spec = new Spec { IPv6 = true, Flags = Ack | Cwr };
        VirtioNetHeader header = GsoHeader(spec) with { GsoType = VirtioNetHeader.GsoTcpV6 | VirtioNetHeader.GsoEcn };

        Assert.Equal(OffloadDropReason.None, TcpSegmenter.TryPlan(SuperPacket(spec), header, out _));
    }

    private static readonly Dictionary<string, (Func<byte[], VirtioNetHeader, (byte[], VirtioNetHeader)> Damage, OffloadDropReason Expected)> s_malformed = new()
    {
        { "gso_size 0", ((p, h) => (p, h with { GsoSize = 0 }), OffloadDropReason.BadGsoSize) },
        { "no payload", ((p, h) => (p[..52], h), OffloadDropReason.BadGsoSize) },
        { "csum_start beyond packet", ((p, h) => (p, h with { ChecksumStart = 60_000 }), OffloadDropReason.ChecksumOutOfRange) },
        { "csum_start leaves no TCP header", ((p, h) => (p[..30], h), OffloadDropReason.ChecksumOutOfRange) },
        { "csum_offset not TCP's", ((p, h) => (p, h with { ChecksumOffset = 6 }), OffloadDropReason.ChecksumOutOfRange) },
        { "csum_start not the IHL", ((p, h) => (p, h with { ChecksumStart = 24 }), OffloadDropReason.MalformedHeaders) },
        { "UDP_L4 type", ((p, h) => (p, h with { GsoType = VirtioNetHeader.GsoUdpL4 }), OffloadDropReason.UnsupportedGsoType) },
        { "UFO type", ((p, h) => (p, h with { GsoType = VirtioNetHeader.GsoUdp }), OffloadDropReason.UnsupportedGsoType) },
        { "unknown type", ((p, h) => (p, h with { GsoType = 0x7F }), OffloadDropReason.UnsupportedGsoType) },
        { "TCPv6 type on an IPv4 packet", ((p, h) => (p, h with { GsoType = VirtioNetHeader.GsoTcpV6 }), OffloadDropReason.MalformedHeaders) },
        { "protocol not TCP", ((p, h) => (With(p, 9, 17), h), OffloadDropReason.MalformedHeaders) },
        { "IPv4 fragment", ((p, h) => (With(p, 6, 0x20), h), OffloadDropReason.MalformedHeaders) },
        { "TCP data offset below 5", ((p, h) => (With(p, 32, 0x40), h), OffloadDropReason.MalformedHeaders) },
        { "TCP header beyond packet", ((p, h) => (With(p[..70], 32, 0xF0), h), OffloadDropReason.MalformedHeaders) },
        { "empty", ((p, h) => ([], h), OffloadDropReason.ChecksumOutOfRange) },
    };

    public static TheoryData<string> Malformed() => new(s_malformed.Keys);

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryPlan_Malformed_IsRefusedWithTheReason(string name)
    {
        (Func<byte[], VirtioNetHeader, (byte[], VirtioNetHeader)> damage, OffloadDropReason expected) = s_malformed[name];
        var spec = new Spec { PayloadLength = 5_000 };
        (byte[] packet, VirtioNetHeader header) = damage(SuperPacket(spec), GsoHeader(spec));

        OffloadDropReason reason = TcpSegmenter.TryPlan(packet, header, out GsoPlan plan);

        Assert.True(expected == reason, $"{name}: expected {expected}, got {reason}");
        Assert.Equal(0, plan.SegmentCount);
    }

    [Fact]
    public void TryPlan_IPv6NextHeaderNotTcpWithoutExtensionHeaders_IsRefused()
    {
        var spec = new Spec { IPv6 = true };
        byte[] packet = With(SuperPacket(spec), 6, 17);

        Assert.Equal(OffloadDropReason.MalformedHeaders, TcpSegmenter.TryPlan(packet, GsoHeader(spec), out _));
        Assert.Equal(OffloadDropReason.MalformedHeaders, TcpSegmenter.TryPlan(packet, GsoHeader(spec) with { ChecksumStart = 20 }, out _));
    }

    [Fact]
    public void TryPlan_IPv6ChecksumStartNotWhereTheHeaderChainEnds_IsRefused()
    {
        var plain = new Spec { IPv6 = true };
        var extended = new Spec { IPv6 = true, HopByHopHeader = true };

        Assert.Equal(OffloadDropReason.MalformedHeaders, TcpSegmenter.TryPlan(SuperPacket(plain), GsoHeader(plain) with { ChecksumStart = 44 }, out _));
        Assert.Equal(OffloadDropReason.MalformedHeaders, TcpSegmenter.TryPlan(SuperPacket(extended), GsoHeader(extended) with { ChecksumStart = 40 }, out _));
    }

    [Theory]
    [InlineData("6", 40)]                    // TCP right away
    [InlineData("0:0,6", 48)]                // hop-by-hop (8 bytes)
    [InlineData("0:1,60:0,6", 64)]           // hop-by-hop (16) + destination options (8)
    [InlineData("43:2,51:4,6", 64 + 24)]     // routing (24) + AH ((4+2)*4 = 24)
    [InlineData("44:0,6", -1)]               // fragment header: never a super-packet
    [InlineData("17", -1)]                   // UDP
    [InlineData("0:200,6", -1)]              // extension header runs past the packet
    [InlineData("0:0,0:0,0:0,0:0,0:0,0:0,0:0,0:0,0:0,6", -1)] // more than 8 extension headers
    public void Ipv6TransportOffset_HeaderChains(string chain, int expected)
    {
        byte[] packet = new byte[200];
        packet[0] = 0x60;
        string[] links = chain.Split(',');
        packet[6] = byte.Parse(links[0].Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);
        int offset = 40;
        for (int i = 0; i < links.Length - 1; i++)
        {
            string[] parts = links[i].Split(':');
            int type = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
            byte length = byte.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            packet[offset] = byte.Parse(links[i + 1].Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);
            packet[offset + 1] = length;
            offset += type == 51 ? (length + 2) * 4 : (length + 1) * 8;
            if (offset > packet.Length - 8)
            {
                break;
            }
        }

        Assert.Equal(expected, TcpSegmenter.Ipv6TransportOffset(packet));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void TryPlanWrite_SuperPacket_HeaderIsWhatTheKernelWouldHandOutAndSplitsBackExactly(bool ipv6, bool hopByHop)
    {
        var spec = new Spec { IPv6 = ipv6, HopByHopHeader = hopByHop, IpOptionsLength = ipv6 ? 0 : 8, PayloadLength = 30_001, SegmentSize = 1_300 };
        byte[] packet = SuperPacket(spec);

        Assert.Equal(OffloadDropReason.None, TcpSegmenter.TryPlanWrite(packet, spec.SegmentSize, out VirtioNetHeader header, out GsoPlan plan));

        Assert.Equal(GsoHeader(spec), header);
        Assert.Equal(24, plan.SegmentCount);
        var reader = new OffloadReader();
        header.Write(reader.ReceiveBuffer.Span);
        packet.CopyTo(reader.ReceiveBuffer.Span[VirtioNetHeader.Size..]);
        var segments = new List<byte[]>();
        byte[] destination = new byte[1_500];
        for (int length = reader.Accept(VirtioNetHeader.Size + packet.Length, destination); length >= 0; length = reader.Next(destination))
        {
            segments.Add(destination.AsSpan(0, length).ToArray());
        }

        AssertSegments(spec, packet, segments);
    }

    [Fact]
    public void TryPlanWrite_NotATcpSuperPacket_IsRefused()
    {
        var spec = new Spec();
        byte[] packet = SuperPacket(spec);

        Assert.Equal(OffloadDropReason.BadGsoSize, TcpSegmenter.TryPlanWrite(packet, 0, out _, out _));
        Assert.Equal(OffloadDropReason.BadGsoSize, TcpSegmenter.TryPlanWrite(packet, 70_000, out _, out _));
        Assert.Equal(OffloadDropReason.Truncated, TcpSegmenter.TryPlanWrite([], 1_000, out _, out _));
        Assert.Equal(OffloadDropReason.MalformedHeaders, TcpSegmenter.TryPlanWrite(With(packet, 0, 0x55), 1_000, out _, out _));
        Assert.Equal(OffloadDropReason.ChecksumOutOfRange, TcpSegmenter.TryPlanWrite(TestPackets.Ipv4EchoRequest(Source4, Destination4, 1, 1, "x"u8), 1_000, out _, out _));
        Assert.Equal(OffloadDropReason.MalformedHeaders, TcpSegmenter.TryPlanWrite(With(SuperPacket(new Spec { IPv6 = true }), 6, 17), 1_000, out VirtioNetHeader header, out _));
        Assert.Equal(default, header);
    }

    [Fact]
    public void WriteSegment_DestinationTooSmallOrIndexOutOfRange_ReturnsMinusOne()
    {
        var spec = new Spec { PayloadLength = 3_000 };
        byte[] packet = SuperPacket(spec);
        Assert.Equal(OffloadDropReason.None, TcpSegmenter.TryPlan(packet, GsoHeader(spec), out GsoPlan plan));

        Assert.Equal(-1, TcpSegmenter.WriteSegment(packet, plan, 0, new byte[plan.SegmentLength(0) - 1]));
        Assert.Equal(-1, TcpSegmenter.WriteSegment(packet, plan, plan.SegmentCount, new byte[2_000]));
        Assert.Equal(-1, TcpSegmenter.WriteSegment(packet, plan, -1, new byte[2_000]));
    }

    [Theory]
    [InlineData(17, 0, 6)]   // UDP over IPv4
    [InlineData(6, 0, 16)]   // TCP over IPv4
    [InlineData(17, 1, 6)]   // odd payload length
    [InlineData(58, 3, 2)]   // ICMPv6-like offset, odd length
    public void TryCompleteChecksum_PartialFromKernel_VerifiesWithReference(byte protocol, int extra, int checksumOffset)
    {
        var random = new Random(protocol + extra);
        foreach (bool v6 in new[] { false, true })
        {
            int ip = v6 ? 40 : 20;
            byte[] packet = new byte[ip + 8 + 20 + 1_000 + extra];
            random.NextBytes(packet);
            packet[0] = v6 ? (byte)0x60 : (byte)0x45;
            ReadOnlySpan<byte> source = v6 ? packet.AsSpan(8, 16) : packet.AsSpan(12, 4);
            ReadOnlySpan<byte> destination = v6 ? packet.AsSpan(24, 16) : packet.AsSpan(16, 4);
            int transport = packet.Length - ip;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(ip + checksumOffset), ReferencePseudoHeaderSum(source, destination, protocol, transport));

            Assert.True(TcpSegmenter.TryCompleteChecksum(packet, ip, checksumOffset));

            Assert.True(TransportChecksumValid(packet, ip, protocol));
        }
    }

    [Fact]
    public void TryCompleteChecksum_ZeroResult_IsWrittenAs0xFFFF()
    {
        // Data summing to 0xFFFF with the field at 0 gives a checksum of 0, which UDP cannot carry.
        byte[] packet = [0xFF, 0xFF, 0x00, 0x00];

        Assert.True(TcpSegmenter.TryCompleteChecksum(packet, 0, 2));

        Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)));
    }

    [Theory]
    [InlineData(100, 0)]
    [InlineData(99, 0)]
    [InlineData(0, 99)]
    [InlineData(90, 9)]
    [InlineData(0, 65_535)]
    [InlineData(65_535, 65_535)]
    public void TryCompleteChecksum_OffsetsOutsidePacket_LeavesItUntouched(int start, int offset)
    {
        byte[] packet = new byte[100];
        new Random(1).NextBytes(packet);
        byte[] copy = packet.ToArray();

        Assert.False(TcpSegmenter.TryCompleteChecksum(packet, start, offset));

        Assert.Equal(copy, packet);
    }

    private static byte[] With(byte[] packet, int index, byte value)
    {
        byte[] copy = packet.ToArray();
        copy[index] = value;
        return copy;
    }
}
