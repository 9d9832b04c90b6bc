using System.Buffers.Binary;

namespace Steer.Tun.Linux.Offload;

/// <summary>What <see cref="TcpCoalescer.TryAdd"/> did with a packet.</summary>
internal enum CoalesceResult
{
    /// <summary>The packet is in the pending super-packet (copied: the caller's buffer is free again).</summary>
    Added,

    /// <summary>A TCP segment that does not continue the pending super-packet: flush, then add it again.</summary>
    FlushFirst,

    /// <summary>Not a segment that can be merged (not TCP, no payload, SYN/FIN/RST/URG/ECN flags, IP options, bad
    /// checksum...): flush what is pending, then write this packet as it is.</summary>
    NotCoalescible,
}

/// <summary>
/// Merges consecutive in-order TCP segments of one flow into one super-packet, the reverse of
/// <see cref="TcpSegmenter"/> and what the kernel's GRO does on a NIC: one TUN write (virtio header with
/// GSO_TCPV4/TCPV6) then enters the host's stack as one 64 KiB packet instead of dozens, which is where most of the
/// receive side's kernel time goes. Pure; one buffer, allocated once; nothing per packet.
/// </summary>
/// <remarks>
/// <para>
/// Hand-written because no .NET library does GRO for a TUN; the rules follow the kernel's <c>tcp_gro_receive</c> and
/// wireguard-go's <c>tcpGRO</c>, stricter where that is free: a segment joins only if its IP and TCP headers equal the
/// first one's except for the lengths, checksums, IPv4 identification (which must count up by one per segment unless
/// DF is set), the sequence number (which must continue exactly) and PSH; every segment but the last carries exactly
/// the first's payload size, and nothing follows a shorter segment or one with PSH. Each segment's TCP checksum is
/// verified before it joins (the merged packet goes up with a partial checksum the kernel trusts). So cutting the
/// super-packet again with <see cref="TcpSegmenter.WriteSegment"/> gives back the original segments byte for byte
/// (IPv4 identifications too where they counted up).
/// </para>
/// <para>
/// The merged packet carries the first segment's headers with the IPv4 total length / IPv6 payload length of the
/// whole, a new IPv4 header checksum, PSH if any segment had it, and in the TCP checksum field the pseudo-header sum
/// over the whole TCP length (as in a super-packet read from a TUN).
/// </para>
/// </remarks>
internal sealed class TcpCoalescer
{
    /// <summary>Longest super-packet: the IPv4 total length (and here also the IPv6 packet) fits 16 bits.</summary>
    public const int MaxLength = 65_535;

    private const int Ipv4Header = 20;
    private const int Ipv6Header = 40;
    private const int TcpMinHeader = 20;
    private const byte ProtocolTcp = 6;
    private const byte TcpPsh = 0x08;
    private const byte TcpAck = 0x10;

    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(MaxLength);
    private int _length;
    private int _count;
    private int _ipHeader;
    private int _headerLength;
    private int _segmentSize;
    private uint _nextSequence;
    private ushort _nextId;
    private bool _push;
    private bool _closed;

    /// <summary>Segments in the pending super-packet.</summary>
    public int Count => _count;

    /// <summary>Offers a packet. See <see cref="CoalesceResult"/> for what the caller does next.</summary>
    public CoalesceResult TryAdd(ReadOnlySpan<byte> packet)
    {
        if (!TryParse(packet, out int ipHeader, out int headerLength))
        {
            return CoalesceResult.NotCoalescible;
        }

        int payload = packet.Length - headerLength;
        if (_count == 0)
        {
            packet.CopyTo(_buffer);
            _length = packet.Length;
            _count = 1;
            _ipHeader = ipHeader;
            _headerLength = headerLength;
            _segmentSize = payload;
            _nextSequence = unchecked(BinaryPrimitives.ReadUInt32BigEndian(packet[(ipHeader + 4)..]) + (uint)payload);
            _nextId = ipHeader == Ipv4Header ? unchecked((ushort)(BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) + 1)) : (ushort)0;
            _push = (packet[ipHeader + 13] & TcpPsh) != 0;
            _closed = _push;
            return CoalesceResult.Added;
        }

        if (_closed || headerLength != _headerLength || ipHeader != _ipHeader || payload > _segmentSize
            || _length + payload > MaxLength || !HeadersContinue(packet))
        {
            return CoalesceResult.FlushFirst;
        }

        packet[headerLength..].CopyTo(_buffer.AsSpan(_length));
        _length += payload;
        _count++;
        _nextSequence = unchecked(_nextSequence + (uint)payload);
        _nextId = unchecked((ushort)(_nextId + 1));
        bool push = (packet[ipHeader + 13] & TcpPsh) != 0;
        _push |= push;
        _closed = push || payload < _segmentSize;
        return CoalesceResult.Added;
    }

    /// <summary>
    /// Finishes the pending packet and hands it out (valid until the next <see cref="TryAdd"/>); empties the coalescer.
    /// </summary>
    /// <param name="segmentSize">The GSO size to write it with, or 0 for a single segment, which is handed out
    /// unchanged and is written as an ordinary packet.</param>
    /// <returns>The packet; empty when nothing was pending.</returns>
    public ReadOnlyMemory<byte> Complete(out int segmentSize)
    {
        int count = _count;
        int length = _length;
        _count = 0;
        _length = 0;
        if (count <= 1)
        {
            segmentSize = 0;
            return _buffer.AsMemory(0, count == 0 ? 0 : length);
        }

        Span<byte> packet = _buffer.AsSpan(0, length);
        int ip = _ipHeader;
        ReadOnlySpan<byte> source;
        ReadOnlySpan<byte> destination;
        if (ip == Ipv4Header)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)length);
            packet[10] = 0;
            packet[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(packet[10..], InternetChecksum.Compute(packet[..Ipv4Header]));
            source = packet.Slice(12, 4);
            destination = packet.Slice(16, 4);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[4..], (ushort)(length - Ipv6Header));
            source = packet.Slice(8, 16);
            destination = packet.Slice(24, 16);
        }

        if (_push)
        {
            packet[ip + 13] |= TcpPsh;
        }

        BinaryPrimitives.WriteUInt16BigEndian(packet[(ip + 16)..], InternetChecksum.PseudoHeaderSum(source, destination, ProtocolTcp, length - ip));
        segmentSize = _segmentSize;
        return _buffer.AsMemory(0, length);
    }

    /// <summary>
    /// True for a TCP segment that may start or join a super-packet: IPv4 without options or fragmentation, or IPv6
    /// without extension headers; lengths that match the packet; flags ACK (+PSH) only; payload; a valid checksum.
    /// </summary>
    private static bool TryParse(ReadOnlySpan<byte> packet, out int ipHeader, out int headerLength)
    {
        headerLength = 0;
        ipHeader = 0;
        if (packet.Length < Ipv4Header + TcpMinHeader)
        {
            return false;
        }

        ReadOnlySpan<byte> source;
        ReadOnlySpan<byte> destination;
        switch (packet[0])
        {
            case 0x45:
                if (packet[9] != ProtocolTcp || BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) != packet.Length
                    || (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0)
                {
                    return false;
                }

                ipHeader = Ipv4Header;
                source = packet.Slice(12, 4);
                destination = packet.Slice(16, 4);
                break;
            case >= 0x60 and <= 0x6F:
                if (packet.Length < Ipv6Header + TcpMinHeader || packet[6] != ProtocolTcp
                    || BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) + Ipv6Header != packet.Length)
                {
                    return false;
                }

                ipHeader = Ipv6Header;
                source = packet.Slice(8, 16);
                destination = packet.Slice(24, 16);
                break;
            default:
                return false;
        }

        int tcpHeader = (packet[ipHeader + 12] >> 4) * 4;
        headerLength = ipHeader + tcpHeader;
        if (tcpHeader < TcpMinHeader || headerLength >= packet.Length
            || (packet[ipHeader + 12] & 0x0F) != 0 || (packet[ipHeader + 13] & ~TcpPsh) != TcpAck)
        {
            return false;
        }

        // The sum over pseudo-header, header and payload, checksum field included, is 0xFFFF when the checksum is right.
        ReadOnlySpan<byte> tcp = packet[ipHeader..];
        return InternetChecksum.Sum(tcp, InternetChecksum.PseudoHeaderSum(source, destination, ProtocolTcp, tcp.Length)) == 0xFFFF;
    }

    /// <summary>The packet's headers equal the pending first segment's where they must, and it continues the flow.</summary>
    private bool HeadersContinue(ReadOnlySpan<byte> packet)
    {
        ReadOnlySpan<byte> first = _buffer;
        int ip = _ipHeader;
        if (ip == Ipv4Header)
        {
            // Version/IHL/TOS; flags, TTL, protocol; addresses. Not: total length, identification, header checksum.
            // With DF the identification means nothing (RFC 6864: atomic datagrams) and other stacks than Linux's
            // do not count it up per segment; without DF it must, as the kernel's GRO wants.
            bool atomic = (first[6] & 0x40) != 0;
            if (!packet[..2].SequenceEqual(first[..2]) || !packet[6..10].SequenceEqual(first[6..10])
                || !packet[12..20].SequenceEqual(first[12..20]) || (!atomic && BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) != _nextId))
            {
                return false;
            }
        }
        else if (!packet[..4].SequenceEqual(first[..4]) || !packet[6..40].SequenceEqual(first[6..40]))
        {
            return false; // version, traffic class, flow label; next header, hop limit, addresses
        }

        // Ports; acknowledgement, data offset; flags but PSH; window; urgent pointer and options. Not: sequence
        // number (checked below) and checksum.
        ReadOnlySpan<byte> tcp = packet[ip.._headerLength];
        ReadOnlySpan<byte> head = first[ip.._headerLength];
        return BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]) == _nextSequence
            && tcp[..4].SequenceEqual(head[..4])
            && tcp[8..13].SequenceEqual(head[8..13])
            && ((tcp[13] ^ head[13]) & ~TcpPsh) == 0
            && tcp[14..16].SequenceEqual(head[14..16])
            && tcp[18..].SequenceEqual(head[18..]);
    }
}
