using System.Buffers.Binary;
using Steer.Tun.Linux.Offload;
using static Steer.Tun.Tests.Offload.OffloadTestPackets;

namespace Steer.Tun.Tests.Offload;

public sealed class TcpCoalescerUnitTests
{
    private static readonly Dictionary<string, Spec> s_flows = new()
    {
        { "v4, last segment shorter", new Spec { Flags = Ack | Psh, PayloadLength = 10_000 } },
        { "v4, exact multiple, no PSH", new Spec { Flags = Ack, PayloadLength = 1_360 * 7 } },
        { "v4, no TCP options, wrapping sequence and id", new Spec { TcpOptionsLength = 0, PayloadLength = 4_321 } },
        { "v4, longest", new Spec { PayloadLength = TcpCoalescer.MaxLength - 52, SegmentSize = 1_337, Seed = 2 } },
        { "v6", new Spec { IPv6 = true, PayloadLength = 10_000, SegmentSize = 1_340 } },
        { "v6, longest", new Spec { IPv6 = true, PayloadLength = TcpCoalescer.MaxLength - 72, SegmentSize = 1_428, Seed = 9 } },
    };

    public static TheoryData<string> Flows() => new(s_flows.Keys);

    [Theory]
    [MemberData(nameof(Flows))]
    public void Segments_of_a_flow_merge_into_the_super_packet_they_were_cut_from(string name)
    {
        Spec spec = s_flows[name];
        byte[] superPacket = SuperPacket(spec);
        List<byte[]> segments = Cut(superPacket, spec.SegmentSize);
        Assert.True(segments.Count > 1);
        Assert.All(segments, s => Assert.True(TransportChecksumValid(s, spec.IpHeaderLength, 6)));

        var coalescer = new TcpCoalescer();
        foreach (byte[] segment in segments)
        {
            Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(segment));
        }

        Assert.Equal(segments.Count, coalescer.Count);
        ReadOnlyMemory<byte> merged = coalescer.Complete(out int segmentSize);
        Assert.Equal(spec.SegmentSize, segmentSize);
        Assert.Equal(Convert.ToHexString(superPacket), Convert.ToHexString(merged.Span));
        Assert.Equal(0, coalescer.Count);

        // And cut again, the same segments come back.
        Assert.Equal(segments.Select(Convert.ToHexString), Cut(merged.ToArray(), segmentSize).Select(Convert.ToHexString));
    }

    [Fact]
    public void A_single_segment_comes_out_unchanged_as_an_ordinary_packet()
    {
        byte[] segment = Cut(SuperPacket(new Spec { PayloadLength = 3_000 }), 1_360)[0];
        var coalescer = new TcpCoalescer();

        Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(segment));
        ReadOnlyMemory<byte> packet = coalescer.Complete(out int segmentSize);

        Assert.Equal(0, segmentSize);
        Assert.Equal(segment, packet.ToArray());
        Assert.True(coalescer.Complete(out _).IsEmpty);
    }

    [Fact]
    public void The_longest_super_packet_is_closed_and_the_next_segment_starts_a_new_one()
    {
        var spec = new Spec { PayloadLength = 100_000, SegmentSize = 1_400 };
        byte[] wide = SuperPacket(spec with { Flags = Ack, PayloadLength = 1_400 * 43 });
        List<byte[]> first = Cut(wide, spec.SegmentSize);
        uint next = BinaryPrimitives.ReadUInt32BigEndian(wide.AsSpan(spec.IpHeaderLength + 4)) + (1_400 * 43);
        ushort id = (ushort)(spec.Identification + first.Count);
        List<byte[]> more = Cut(SuperPacket(spec with { Flags = Ack, PayloadLength = 14_000, Sequence = next, Identification = id, Seed = 3 }), spec.SegmentSize);
        var coalescer = new TcpCoalescer();
        int added = 0;
        CoalesceResult result = CoalesceResult.Added;
        foreach (byte[] segment in first.Concat(more))
        {
            result = coalescer.TryAdd(segment);
            if (result != CoalesceResult.Added)
            {
                break;
            }

            added++;
        }

        Assert.Equal(CoalesceResult.FlushFirst, result);
        Assert.True(coalescer.Complete(out _).Length <= TcpCoalescer.MaxLength);
        Assert.Equal((TcpCoalescer.MaxLength - 52) / spec.SegmentSize, added);
    }

    /// <summary>Each case with whether the segment could start a super-packet of its own (else it is written as it is).</summary>
    public static TheoryData<string, bool> Refusals() => new()
    {
        { "bad TCP checksum", false },
        { "SYN", false },
        { "FIN", false },
        { "ECE", false },
        { "no payload", false },
        { "IPv4 options", false },
        { "IPv6 extension header", false },
        { "UDP", false },
        { "padding after the IP length", false },
        { "sequence gap", true },
        { "other port", true },
        { "other acknowledgement", true },
        { "other window", true },
        { "other TTL", true },
        { "longer payload", true },
        { "after a shorter segment", true },
        { "after PSH", true },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_segment_that_cannot_continue_the_flow_is_not_merged(string name, bool mergeableOnItsOwn)
    {
        var spec = new Spec { Flags = Ack, PayloadLength = 1_360 * 6 };
        List<byte[]> segments = Cut(SuperPacket(spec), spec.SegmentSize);
        int ip = spec.IpHeaderLength;
        var coalescer = new TcpCoalescer();
        Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(segments[0]));
        byte[] second = segments[1];
        switch (name)
        {
            case "bad TCP checksum": second[^1] ^= 0x01; break;
            case "SYN": second = Reflag(second, ip, Ack | Syn); break;
            case "FIN": second = Reflag(second, ip, Ack | Fin); break;
            case "ECE": second = Reflag(second, ip, Ack | Ece); break;
            case "no payload": second = Cut(SuperPacket(spec with { PayloadLength = 1 }), 1)[0][..^1]; FixLengths(second, ip); break;
            case "IPv4 options": second = Cut(SuperPacket(spec with { IpOptionsLength = 4 }), spec.SegmentSize)[1]; break;
            case "IPv6 extension header": second = Cut(SuperPacket(spec with { IPv6 = true, HopByHopHeader = true }), spec.SegmentSize)[1]; break;
            case "UDP": second[9] = 17; FixLengths(second, ip); break;
            case "padding after the IP length": second = [.. second, 0, 0]; break;
            case "sequence gap": second = segments[2]; break;
            case "other port": Rewrite(second, ip, s => s[ip + 1] ^= 1); break;
            case "other acknowledgement": Rewrite(second, ip, s => s[ip + 11] ^= 1); break;
            case "other window": Rewrite(second, ip, s => s[ip + 15] ^= 1); break;
            case "other TTL": Rewrite(second, ip, s => s[8]--); break;
            case "longer payload":
                coalescer.Complete(out _);
                Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(Cut(SuperPacket(spec), 1_000)[0]));
                second = Cut(SuperPacket(spec with { Sequence = spec.Sequence + 1_000, Identification = (ushort)(spec.Identification + 1) }), spec.SegmentSize)[0];
                break;
            case "after a shorter segment":
                coalescer.Complete(out _);
                List<byte[]> small = Cut(SuperPacket(spec with { PayloadLength = 1_500 }), 1_000); // 1,000 then 500
                Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(small[0]));
                Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(small[1]));
                second = Cut(SuperPacket(spec with { PayloadLength = 3_000, Sequence = spec.Sequence + 1_500, Identification = (ushort)(spec.Identification + 2) }), 1_000)[0];
                break;
            case "after PSH":
                coalescer.Complete(out _);
                List<byte[]> pushed = Cut(SuperPacket(spec with { Flags = Ack | Psh, PayloadLength = 2_720 }), spec.SegmentSize);
                Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(pushed[0]));
                Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(pushed[1])); // the last: carries PSH
                second = Cut(SuperPacket(spec with { Flags = Ack, PayloadLength = 2_720, Sequence = spec.Sequence + 2_720, Identification = (ushort)(spec.Identification + 2) }), spec.SegmentSize)[0];
                break;
        }

        int before = coalescer.Count;
        Assert.Equal(mergeableOnItsOwn ? CoalesceResult.FlushFirst : CoalesceResult.NotCoalescible, coalescer.TryAdd(second));
        Assert.Equal(before, coalescer.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_ipv4_identification_must_count_up_only_without_df(bool dontFragment)
    {
        var spec = new Spec { Flags = Ack, PayloadLength = 1_360 * 3 };
        List<byte[]> segments = Cut(SuperPacket(spec), spec.SegmentSize);
        foreach (byte[] segment in segments)
        {
            Rewrite(segment, spec.IpHeaderLength, s => s[6] = dontFragment ? (byte)0x40 : (byte)0);
        }

        Rewrite(segments[1], spec.IpHeaderLength, s => s[5] ^= 4); // not first id + 1
        var coalescer = new TcpCoalescer();
        Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(segments[0]));

        Assert.Equal(dontFragment ? CoalesceResult.Added : CoalesceResult.FlushFirst, coalescer.TryAdd(segments[1]));
    }

    private static List<byte[]> Cut(byte[] superPacket, int segmentSize)
    {
        Assert.Equal(OffloadDropReason.None, TcpSegmenter.TryPlanWrite(superPacket, segmentSize, out _, out GsoPlan plan));
        var segments = new List<byte[]>();
        byte[] buffer = new byte[plan.HeaderLength + segmentSize];
        for (int i = 0; i < plan.SegmentCount; i++)
        {
            segments.Add(buffer.AsSpan(0, TcpSegmenter.WriteSegment(superPacket, plan, i, buffer)).ToArray());
        }

        return segments;
    }

    private static byte[] Reflag(byte[] packet, int ip, int flags)
    {
        packet[ip + 13] = (byte)flags;
        FixLengths(packet, ip);
        return packet;
    }

    /// <summary>Changes a header byte and repairs both checksums, so only the change itself can be the reason.</summary>
    private static void Rewrite(byte[] packet, int ip, Action<byte[]> change)
    {
        change(packet);
        FixLengths(packet, ip);
    }

    /// <summary>Recomputes the IPv4 length and header checksum and the TCP/UDP checksum (reference implementation).</summary>
    private static void FixLengths(byte[] packet, int ip)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[10] = 0;
        packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), (ushort)~ReferenceSum(packet.AsSpan(0, ip)));
        int field = packet[9] == 17 ? ip + 6 : ip + 16;
        packet[field] = 0;
        packet[field + 1] = 0;
        ushort pseudo = ReferencePseudoHeaderSum(packet.AsSpan(12, 4), packet.AsSpan(16, 4), packet[9], packet.Length - ip);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(field), (ushort)~ReferenceSum(packet.AsSpan(ip), pseudo));
    }
}
