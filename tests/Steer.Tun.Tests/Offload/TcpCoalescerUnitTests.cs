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

    /// <summary>
    /// The property that matters for "no lost traffic": whatever mix of packets arrives (three interleaved flows over
    /// IPv4 and IPv6, short segments, PSH, pure ACKs, retransmissions, corrupted checksums, UDP) and wherever the
    /// batches end, merging and then cutting again gives back exactly the packets that went in, in the same order
    /// (IPv4 identifications of DF packets aside, see <see cref="Atomic"/>).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Random_packet_streams_come_out_of_merging_and_cutting_unchanged_and_in_order(int seed)
    {
        var random = new Random(seed);
        var flows = new[]
        {
            new Flow(false, 1_448, 40_000, random.Next()),
            new Flow(true, 1_428, 40_001, random.Next()),
            new Flow(false, 1_360, 40_002, random.Next()),
        };
        var input = new List<byte[]>();
        Flow flow = flows[0];
        while (input.Count < 3_000)
        {
            if (random.Next(4) == 0)
            {
                flow = flows[random.Next(flows.Length)]; // otherwise the same flow goes on: runs to merge
            }

            int kind = random.Next(100);
            input.Add(kind switch
            {
                < 78 => flow.Next(random, random.Next(10) == 0 ? random.Next(1, flow.Mss) : flow.Mss, random.Next(12) == 0),
                < 86 => flow.PureAck(),
                < 91 => flow.Retransmission(random),
                < 96 => Corrupt(flow.Next(random, flow.Mss, false), random),
                _ => Udp(random),
            });
        }

        var coalescer = new TcpCoalescer();
        var output = new List<byte[]>();
        int merged = 0;
        foreach (byte[] packet in input)
        {
            switch (coalescer.TryAdd(packet))
            {
                case CoalesceResult.Added:
                    break;
                case CoalesceResult.FlushFirst:
                    merged += Emit(coalescer, output);
                    Assert.Equal(CoalesceResult.Added, coalescer.TryAdd(packet));
                    break;
                default:
                    merged += Emit(coalescer, output);
                    output.Add(packet);
                    break;
            }

            if (random.Next(20) == 0)
            {
                merged += Emit(coalescer, output); // a receive batch ended
            }
        }

        merged += Emit(coalescer, output);
        Assert.Equal(input.Count, output.Count);
        Assert.True(merged > input.Count / 10, $"only {merged} of {input.Count} packets were merged: the mix exercises too little");
        for (int i = 0; i < input.Count; i++)
        {
            Assert.True(Atomic(input[i]).AsSpan().SequenceEqual(Atomic(output[i])), $"packet {i} differs:\n{Convert.ToHexString(input[i])}\n{Convert.ToHexString(output[i])}");
        }
    }

    /// <summary>
    /// The packet with the IPv4 identification and header checksum blanked when DF is set: a merged run of atomic
    /// datagrams may carry any identifications (here: retransmissions of segments that had a pure ACK between them),
    /// and the cut gives them counting up from the first.
    /// </summary>
    private static byte[] Atomic(byte[] packet)
    {
        byte[] copy = packet.ToArray();
        if (copy[0] >> 4 == 4 && (copy[6] & 0x40) != 0)
        {
            copy[4] = copy[5] = copy[10] = copy[11] = 0;
        }

        return copy;
    }

    private static int Emit(TcpCoalescer coalescer, List<byte[]> output)
    {
        ReadOnlyMemory<byte> packet = coalescer.Complete(out int segmentSize);
        if (segmentSize > 0)
        {
            List<byte[]> segments = Cut(packet.ToArray(), segmentSize);
            output.AddRange(segments);
            return segments.Count;
        }
        if (!packet.IsEmpty)
        {
            output.Add(packet.ToArray());
        }

        return 0;
    }

    private static byte[] Corrupt(byte[] packet, Random random)
    {
        packet[^(1 + random.Next(100))] ^= (byte)(1 + random.Next(255));
        return packet;
    }

    private static byte[] Udp(Random random)
    {
        byte[] packet = Cut(SuperPacket(new Spec { PayloadLength = 100 + random.Next(1_000), Seed = random.Next() }), 1_400)[0];
        Rewrite(packet, 20, p => p[9] = 17);
        return packet;
    }

    /// <summary>One TCP flow's sender: consecutive segments, IPv4 identification counting up, its own source port.</summary>
    private sealed class Flow(bool ipv6, int mss, ushort port, int seed)
    {
        private readonly List<(uint Sequence, ushort Id, int Length)> _sent = [];
        private uint _sequence = (uint)seed;
        private ushort _id = (ushort)seed;
        private int _seed = seed;

        public int Mss => mss;

        public byte[] Next(Random random, int payload, bool push)
        {
            byte[] packet = Build(_sequence, _id, payload, push ? Ack | Psh : Ack);
            _sent.Add((_sequence, _id, payload));
            _sequence += (uint)payload;
            _id++;
            return packet;
        }

        public byte[] PureAck()
        {
            byte[] packet = Build(_sequence, _id++, 1, Ack);
            packet = packet[..^1];
            FixLengths(packet, ipv6 ? 40 : 20);
            return packet;
        }

        public byte[] Retransmission(Random random)
        {
            if (_sent.Count == 0)
            {
                return PureAck();
            }

            (uint sequence, ushort id, int length) = _sent[random.Next(_sent.Count)];
            return Build(sequence, id, length, Ack);
        }

        private byte[] Build(uint sequence, ushort id, int payload, int flags)
        {
            var spec = new Spec { IPv6 = ipv6, Flags = (byte)flags, PayloadLength = payload, SegmentSize = payload, Sequence = sequence, Identification = id, Seed = _seed++ };
            byte[] packet = Cut(SuperPacket(spec), payload)[0];
            int ip = spec.IpHeaderLength;
            Rewrite(packet, ip, p => BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ip), port));
            return packet;
        }
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

    /// <summary>
    /// Recomputes the IPv4 length and header checksum or the IPv6 payload length, and the TCP/UDP checksum (reference
    /// implementation).
    /// </summary>
    private static void FixLengths(byte[] packet, int ip)
    {
        bool v6 = packet[0] >> 4 == 6;
        byte protocol;
        if (v6)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)(packet.Length - 40));
            protocol = packet[6];
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
            packet[10] = 0;
            packet[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), (ushort)~ReferenceSum(packet.AsSpan(0, ip)));
            protocol = packet[9];
        }

        int field = protocol == 17 ? ip + 6 : ip + 16;
        packet[field] = 0;
        packet[field + 1] = 0;
        ReadOnlySpan<byte> source = v6 ? packet.AsSpan(8, 16) : packet.AsSpan(12, 4);
        ReadOnlySpan<byte> destination = v6 ? packet.AsSpan(24, 16) : packet.AsSpan(16, 4);
        ushort pseudo = ReferencePseudoHeaderSum(source, destination, protocol, packet.Length - ip);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(field), (ushort)~ReferenceSum(packet.AsSpan(ip), pseudo));
    }
}
