using System.Buffers.Binary;
using System.Net;
using Steer.Tun.Linux.Offload;

namespace Steer.Tun.Tests.Offload;

/// <summary>
/// Test side of the offload code: a reference Internet checksum written independently of
/// <see cref="InternetChecksum"/> (byte pairs, big-endian, end-around carry at every step), builders for TCP
/// super-packets as the kernel hands them to an offloading TUN, and a validator for every segment.
/// </summary>
internal static class OffloadTestPackets
{
    public const byte Fin = 0x01;
    public const byte Syn = 0x02;
    public const byte Rst = 0x04;
    public const byte Psh = 0x08;
    public const byte Ack = 0x10;
    public const byte Cwr = 0x80;
    public const byte Ece = 0x40;

    /// <summary>RFC 1071 done the slow, obvious way: 16-bit big-endian words, carry folded after every addition.</summary>
    public static ushort ReferenceSum(ReadOnlySpan<byte> data, ushort initial = 0)
    {
        int sum = initial;
        for (int i = 0; i < data.Length; i += 2)
        {
            int word = data[i] << 8;
            if (i + 1 < data.Length)
            {
                word |= data[i + 1];
            }

            sum += word;
            if (sum > 0xFFFF)
            {
                sum = (sum & 0xFFFF) + 1;
            }
        }

        return (ushort)sum;
    }

    /// <summary>The reference sum of an explicitly built pseudo-header (RFC 793 / RFC 8200 §8.1 layout).</summary>
    public static ushort ReferencePseudoHeaderSum(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int length)
    {
        byte[] pseudo;
        if (source.Length == 4)
        {
            pseudo = new byte[12];
            source.CopyTo(pseudo);
            destination.CopyTo(pseudo.AsSpan(4));
            pseudo[9] = protocol;
            BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)length);
        }
        else
        {
            pseudo = new byte[40];
            source.CopyTo(pseudo);
            destination.CopyTo(pseudo.AsSpan(16));
            BinaryPrimitives.WriteUInt32BigEndian(pseudo.AsSpan(32), (uint)length);
            pseudo[39] = protocol;
        }

        return ReferenceSum(pseudo);
    }

    /// <summary>True when a transport segment (TCP or UDP) verifies: pseudo-header + segment sum to 0xFFFF.</summary>
    public static bool TransportChecksumValid(ReadOnlySpan<byte> packet, int transportStart, byte protocol)
    {
        bool v6 = packet[0] >> 4 == 6;
        ReadOnlySpan<byte> source = v6 ? packet.Slice(8, 16) : packet.Slice(12, 4);
        ReadOnlySpan<byte> destination = v6 ? packet.Slice(24, 16) : packet.Slice(16, 4);
        ReadOnlySpan<byte> transport = packet[transportStart..];
        ushort pseudo = ReferencePseudoHeaderSum(source, destination, protocol, transport.Length);
        return ReferenceSum(transport, pseudo) == 0xFFFF;
    }

    /// <summary>True when an IPv4 header verifies.</summary>
    public static bool Ipv4HeaderChecksumValid(ReadOnlySpan<byte> packet) => ReferenceSum(packet[..((packet[0] & 0x0F) * 4)]) == 0xFFFF;

    /// <summary>What a super-packet is made of, to rebuild and check it.</summary>
    public sealed record Spec
    {
        public bool IPv6 { get; init; }

        public int PayloadLength { get; init; } = 10_000;

        public int SegmentSize { get; init; } = 1_360;

        public int IpOptionsLength { get; init; }

        public int TcpOptionsLength { get; init; } = 12;

        public bool HopByHopHeader { get; init; }

        public byte Flags { get; init; } = Ack | Psh;

        public uint Sequence { get; init; } = 0xFFFF_F000; // wraps within the first few segments

        public ushort Identification { get; init; } = 0xFFFE; // wraps too

        public int Seed { get; init; } = 1;

        public int IpHeaderLength => IPv6 ? 40 + (HopByHopHeader ? 8 : 0) : 20 + IpOptionsLength;

        public int HeaderLength => IpHeaderLength + 20 + TcpOptionsLength;
    }

    public static readonly IPAddress Source4 = IPAddress.Parse("198.18.7.1");
    public static readonly IPAddress Destination4 = IPAddress.Parse("198.18.8.2");
    public static readonly IPAddress Source6 = IPAddress.Parse("fd53:7ee7:7::1");
    public static readonly IPAddress Destination6 = IPAddress.Parse("fd53:7ee7:8::2");

    /// <summary>
    /// A TCP super-packet as a TSO-capable device receives it: IP total/payload length of the whole, a TCP checksum
    /// field holding only the pseudo-header sum (CHECKSUM_PARTIAL), random payload.
    /// </summary>
    public static byte[] SuperPacket(Spec spec)
    {
        var random = new Random(spec.Seed);
        int ipLength = spec.IpHeaderLength;
        int tcpLength = 20 + spec.TcpOptionsLength;
        int total = ipLength + tcpLength + spec.PayloadLength;
        byte[] packet = new byte[total];
        Span<byte> p = packet;
        if (spec.IPv6)
        {
            p[0] = 0x60 | 0x0A; // version 6, traffic class bits
            p[1] = 0xB1;
            p[2] = 0x23;
            p[3] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p[4..], (ushort)Math.Min(total - 40, 0xFFFF));
            p[6] = spec.HopByHopHeader ? (byte)0 : (byte)6;
            p[7] = 64;
            Source6.TryWriteBytes(p.Slice(8, 16), out _);
            Destination6.TryWriteBytes(p.Slice(24, 16), out _);
            if (spec.HopByHopHeader)
            {
                p[40] = 6;  // next header TCP
                p[41] = 0;  // 8 bytes
                p[42] = 1;  // PadN
                p[43] = 4;
            }
        }
        else
        {
            p[0] = (byte)(0x40 | (ipLength / 4));
            p[1] = 0x02; // ECT(0)
            BinaryPrimitives.WriteUInt16BigEndian(p[2..], (ushort)Math.Min(total, 0xFFFF));
            BinaryPrimitives.WriteUInt16BigEndian(p[4..], spec.Identification);
            BinaryPrimitives.WriteUInt16BigEndian(p[6..], 0x4000); // DF
            p[8] = 64;
            p[9] = 6;
            Source4.TryWriteBytes(p.Slice(12, 4), out _);
            Destination4.TryWriteBytes(p.Slice(16, 4), out _);
            for (int i = 20; i < ipLength; i++)
            {
                p[i] = 1; // NOP options
            }

            BinaryPrimitives.WriteUInt16BigEndian(p[10..], (ushort)~ReferenceSum(p[..ipLength]));
        }

        Span<byte> tcp = p[ipLength..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40_000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], spec.Sequence);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], 0x1234_5678);
        tcp[12] = (byte)((tcpLength / 4) << 4);
        tcp[13] = spec.Flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 501);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[18..], 0); // urgent pointer
        for (int i = 20; i < tcpLength; i++)
        {
            tcp[i] = (byte)(i == tcpLength - 1 ? 0 : 1); // NOPs, end of options
        }

        random.NextBytes(p[(ipLength + tcpLength)..]);
        ReadOnlySpan<byte> source = spec.IPv6 ? p.Slice(8, 16) : p.Slice(12, 4);
        ReadOnlySpan<byte> destination = spec.IPv6 ? p.Slice(24, 16) : p.Slice(16, 4);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], ReferencePseudoHeaderSum(source, destination, 6, tcp.Length));
        return packet;
    }

    /// <summary>The virtio header the kernel puts in front of such a super-packet (hdr_len as on the local path).</summary>
    public static VirtioNetHeader GsoHeader(Spec spec) => new()
    {
        Flags = VirtioNetHeader.FlagNeedsChecksum,
        GsoType = spec.IPv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4,
        HeaderLength = (ushort)spec.HeaderLength,
        GsoSize = (ushort)spec.SegmentSize,
        ChecksumStart = (ushort)spec.IpHeaderLength,
        ChecksumOffset = 16,
    };

    /// <summary>Header + packet as one read from the device.</summary>
    public static byte[] Read(VirtioNetHeader header, ReadOnlySpan<byte> packet)
    {
        byte[] read = new byte[VirtioNetHeader.Size + packet.Length];
        header.Write(read);
        packet.CopyTo(read.AsSpan(VirtioNetHeader.Size));
        return read;
    }

    /// <summary>
    /// Checks every segment against the super-packet it came from, field by field, with the reference checksum, and
    /// that the payloads concatenate to the original payload.
    /// </summary>
    public static void AssertSegments(Spec spec, byte[] superPacket, IReadOnlyList<byte[]> segments)
    {
        int headers = spec.HeaderLength;
        int ip = spec.IpHeaderLength;
        int expectedCount = (spec.PayloadLength + spec.SegmentSize - 1) / spec.SegmentSize;
        Assert.Equal(expectedCount, segments.Count);
        var payload = new List<byte>(spec.PayloadLength);
        for (int i = 0; i < segments.Count; i++)
        {
            byte[] s = segments[i];
            bool last = i == segments.Count - 1;
            int dataLength = last ? spec.PayloadLength - (i * spec.SegmentSize) : spec.SegmentSize;
            Assert.Equal(headers + dataLength, s.Length);
            if (spec.IPv6)
            {
                Assert.Equal(s.Length - 40, BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(4)));
                Assert.True(s.AsSpan(0, 4).SequenceEqual(superPacket.AsSpan(0, 4)), "IPv6 version/class/flow changed");
                Assert.True(s.AsSpan(6, ip - 6).SequenceEqual(superPacket.AsSpan(6, ip - 6)), "IPv6 header or extension headers changed");
            }
            else
            {
                Assert.Equal(s.Length, BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(2)));
                Assert.Equal((ushort)(spec.Identification + i), BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(4)));
                Assert.True(Ipv4HeaderChecksumValid(s), $"segment {i}: bad IPv4 header checksum");
                Assert.True(s.AsSpan(0, 2).SequenceEqual(superPacket.AsSpan(0, 2)));
                Assert.True(s.AsSpan(6, 4).SequenceEqual(superPacket.AsSpan(6, 4)), "flags/TTL/protocol changed");
                Assert.True(s.AsSpan(12, ip - 12).SequenceEqual(superPacket.AsSpan(12, ip - 12)), "addresses or options changed");
            }

            Assert.Equal(unchecked(spec.Sequence + (uint)(i * spec.SegmentSize)), BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(ip + 4)));
            byte flags = s[ip + 13];
            byte expectedFlags = spec.Flags;
            if (!last)
            {
                expectedFlags &= unchecked((byte)~(Fin | Psh));
            }

            if (i != 0)
            {
                expectedFlags &= unchecked((byte)~Cwr);
            }

            Assert.Equal(expectedFlags, flags);
            Assert.True(s.AsSpan(ip, 4).SequenceEqual(superPacket.AsSpan(ip, 4)), "ports changed");
            Assert.True(s.AsSpan(ip + 8, 5).SequenceEqual(superPacket.AsSpan(ip + 8, 5)), "ack/data offset changed");
            Assert.True(s.AsSpan(ip + 14, 2).SequenceEqual(superPacket.AsSpan(ip + 14, 2)), "window changed");
            Assert.True(s.AsSpan(ip + 18, headers - ip - 18).SequenceEqual(superPacket.AsSpan(ip + 18, headers - ip - 18)), "urgent pointer/options changed");
            Assert.True(TransportChecksumValid(s, ip, 6), $"segment {i} of {segments.Count}: bad TCP checksum");
            payload.AddRange(s.AsSpan(headers).ToArray());
        }

        Assert.True(payload.ToArray().AsSpan().SequenceEqual(superPacket.AsSpan(headers)), "payloads do not concatenate to the original");
    }
}
