using System.Buffers.Binary;

namespace Steer.Tun.Linux.Offload;

/// <summary>Why a packet read from an offloading TUN was dropped instead of handed out.</summary>
internal enum OffloadDropReason
{
    /// <summary>Not dropped.</summary>
    None,

    /// <summary>The read was shorter than the virtio header plus one byte, or longer than the read buffer.</summary>
    Truncated,

    /// <summary><c>csum_start</c>/<c>csum_offset</c> point outside the packet.</summary>
    ChecksumOutOfRange,

    /// <summary>A GSO type other than TCPv4/TCPv6 (UDP GSO is never negotiated).</summary>
    UnsupportedGsoType,

    /// <summary>IP or TCP headers that do not match the GSO type or run past the packet.</summary>
    MalformedHeaders,

    /// <summary><c>gso_size</c> is zero, or the super-packet has no payload.</summary>
    BadGsoSize,

    /// <summary>A packet or segment is longer than the caller's buffer.</summary>
    BufferTooSmall,
}

/// <summary>How to cut one TCP super-packet into segments; made by <see cref="TcpSegmenter.TryPlan"/>.</summary>
/// <param name="IpHeaderLength">IP header length including IPv6 extension headers (= <c>csum_start</c>).</param>
/// <param name="HeaderLength">IP plus TCP header length: the bytes copied in front of every segment's payload.</param>
/// <param name="SegmentSize">Payload bytes per segment (<c>gso_size</c>); the last segment may carry fewer.</param>
/// <param name="SegmentCount">How many segments the super-packet makes.</param>
/// <param name="PacketLength">Length of the super-packet (without the virtio header).</param>
/// <param name="IsIPv6">IPv6 (else IPv4).</param>
internal readonly record struct GsoPlan(int IpHeaderLength, int HeaderLength, int SegmentSize, int SegmentCount, int PacketLength, bool IsIPv6)
{
    /// <summary>Length of segment <paramref name="index"/> (headers plus its share of the payload).</summary>
    public int SegmentLength(int index) => HeaderLength + Math.Min(SegmentSize, PacketLength - HeaderLength - (index * SegmentSize));
}

/// <summary>
/// User-space TCP segmentation (what the kernel's <c>tcp_gso_segment</c> does for a device without TSO) and checksum
/// completion for packets read from a TUN with IFF_VNET_HDR. Pure functions over spans; nothing is allocated.
/// </summary>
internal static class TcpSegmenter
{
    private const int Ipv4MinHeader = 20;
    private const int Ipv6Header = 40;
    private const int TcpMinHeader = 20;
    private const int TcpChecksumOffset = 16;
    private const byte ProtocolTcp = 6;
    private const byte TcpFin = 0x01;
    private const byte TcpPsh = 0x08;
    private const byte TcpCwr = 0x80;

    /// <summary>
    /// Completes a partial transport checksum (<c>VIRTIO_NET_HDR_F_NEEDS_CSUM</c> without GSO): the field at
    /// <paramref name="start"/> + <paramref name="offset"/> holds the pseudo-header sum; the one's-complement sum of
    /// everything from <paramref name="start"/> to the end (that field included) is folded, complemented and stored
    /// there — as the kernel's <c>skb_checksum_help</c> does, including writing 0xFFFF for a zero result.
    /// </summary>
    /// <returns>False (packet untouched) when the offsets point outside the packet.</returns>
    public static bool TryCompleteChecksum(Span<byte> packet, int start, int offset)
    {
        if (start >= packet.Length || offset > packet.Length - start - 2)
        {
            return false;
        }

        Span<byte> field = packet.Slice(start + offset, 2);
        ushort checksum = InternetChecksum.Compute(packet[start..]);
        BinaryPrimitives.WriteUInt16BigEndian(field, checksum == 0 ? (ushort)0xFFFF : checksum);
        return true;
    }

    /// <summary>
    /// Checks a TCP super-packet against its virtio header and plans its segmentation. <c>hdr_len</c> is not trusted
    /// (on the forwarding path the kernel reports the whole linear part); the TCP header length is read from the
    /// packet instead.
    /// </summary>
    public static OffloadDropReason TryPlan(ReadOnlySpan<byte> packet, in VirtioNetHeader header, out GsoPlan plan)
    {
        plan = default;
        int gsoType = header.GsoType & ~VirtioNetHeader.GsoEcn;
        bool ipv6;
        if (gsoType == VirtioNetHeader.GsoTcpV4)
        {
            ipv6 = false;
        }
        else if (gsoType == VirtioNetHeader.GsoTcpV6)
        {
            ipv6 = true;
        }
        else
        {
            return OffloadDropReason.UnsupportedGsoType;
        }

        int ipHeader = header.ChecksumStart;
        if (header.ChecksumOffset != TcpChecksumOffset || ipHeader > packet.Length - TcpMinHeader)
        {
            return OffloadDropReason.ChecksumOutOfRange;
        }

        if (packet.IsEmpty || packet[0] >> 4 != (ipv6 ? 6 : 4))
        {
            return OffloadDropReason.MalformedHeaders;
        }

        if (ipv6)
        {
            if (Ipv6TransportOffset(packet) != ipHeader)
            {
                return OffloadDropReason.MalformedHeaders;
            }
        }
        else
        {
            bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0;
            if ((packet[0] & 0x0F) * 4 != ipHeader || ipHeader < Ipv4MinHeader || packet[9] != ProtocolTcp || fragment)
            {
                return OffloadDropReason.MalformedHeaders;
            }
        }

        int tcpHeader = (packet[ipHeader + 12] >> 4) * 4;
        int headers = ipHeader + tcpHeader;
        if (tcpHeader < TcpMinHeader || headers > packet.Length)
        {
            return OffloadDropReason.MalformedHeaders;
        }

        int payload = packet.Length - headers;
        if (header.GsoSize == 0 || payload == 0)
        {
            return OffloadDropReason.BadGsoSize;
        }

        int count = (payload + header.GsoSize - 1) / header.GsoSize;
        plan = new GsoPlan(ipHeader, headers, header.GsoSize, count, packet.Length, ipv6);
        return OffloadDropReason.None;
    }

    /// <summary>
    /// The virtio header for writing a TCP super-packet to an offloading TUN, so that the kernel segments it into
    /// payloads of <paramref name="segmentSize"/> bytes: GSO type from the IP version, <c>csum_start</c> at the TCP
    /// header (IHL, or the end of the IPv6 extension headers), <c>NEEDS_CSUM</c>. The packet's TCP checksum field must
    /// hold the pseudo-header sum (as in a super-packet read from a TUN); the packet is checked with
    /// <see cref="TryPlan"/> first, so nothing malformed reaches the kernel.
    /// </summary>
    public static OffloadDropReason TryPlanWrite(ReadOnlySpan<byte> packet, int segmentSize, out VirtioNetHeader header, out GsoPlan plan)
    {
        header = default;
        plan = default;
        if (packet.IsEmpty || (uint)segmentSize > ushort.MaxValue)
        {
            return packet.IsEmpty ? OffloadDropReason.Truncated : OffloadDropReason.BadGsoSize;
        }

        int version = packet[0] >> 4;
        int transport = version switch
        {
            4 => (packet[0] & 0x0F) * 4,
            6 => Ipv6TransportOffset(packet),
            _ => -1,
        };
        if (transport < 0)
        {
            return OffloadDropReason.MalformedHeaders;
        }

        var candidate = new VirtioNetHeader
        {
            Flags = VirtioNetHeader.FlagNeedsChecksum,
            GsoType = version == 4 ? VirtioNetHeader.GsoTcpV4 : VirtioNetHeader.GsoTcpV6,
            GsoSize = (ushort)segmentSize,
            ChecksumStart = (ushort)transport,
            ChecksumOffset = TcpChecksumOffset,
        };
        OffloadDropReason reason = TryPlan(packet, candidate, out plan);
        if (reason == OffloadDropReason.None)
        {
            candidate.HeaderLength = (ushort)plan.HeaderLength;
            header = candidate;
        }

        return reason;
    }

    /// <summary>
    /// Walks the IPv6 extension headers (hop-by-hop, routing, destination options, AH) to the TCP header.
    /// </summary>
    /// <returns>The TCP header's offset, or -1 when the chain does not end in TCP inside the packet (a fragment header
    /// included: a fragment is never a super-packet).</returns>
    internal static int Ipv6TransportOffset(ReadOnlySpan<byte> packet)
    {
        const int MaxExtensionHeaders = 8;
        if (packet.Length < Ipv6Header)
        {
            return -1;
        }

        int next = packet[6];
        int offset = Ipv6Header;
        for (int i = 0; i <= MaxExtensionHeaders; i++)
        {
            if (next == ProtocolTcp)
            {
                return offset <= packet.Length ? offset : -1;
            }

            if (offset > packet.Length - 8)
            {
                return -1;
            }

            int length = next switch
            {
                0 or 43 or 60 => (packet[offset + 1] + 1) * 8, // hop-by-hop, routing, destination options
                51 => (packet[offset + 1] + 2) * 4,            // authentication header
                _ => -1,
            };
            if (length < 0)
            {
                return -1;
            }

            next = packet[offset];
            offset += length;
        }

        return -1;
    }

    /// <summary>
    /// Writes segment <paramref name="index"/> of a planned super-packet into <paramref name="destination"/>: the
    /// headers with IPv4 total length, identification (+index) and header checksum, or the IPv6 payload length; the
    /// TCP sequence number advanced by the payload before it; FIN and PSH only on the last segment and CWR only on the
    /// first; and the full TCP checksum over pseudo-header, header and payload.
    /// </summary>
    /// <returns>The segment's length, or -1 when <paramref name="destination"/> is too short for it.</returns>
    public static int WriteSegment(ReadOnlySpan<byte> packet, in GsoPlan plan, int index, Span<byte> destination)
    {
        int dataStart = plan.HeaderLength + (index * plan.SegmentSize);
        int dataLength = Math.Min(plan.SegmentSize, plan.PacketLength - dataStart);
        int length = plan.HeaderLength + dataLength;
        if ((uint)index >= (uint)plan.SegmentCount || length > destination.Length)
        {
            return -1;
        }

        Span<byte> segment = destination[..length];
        packet[..plan.HeaderLength].CopyTo(segment);
        packet.Slice(dataStart, dataLength).CopyTo(segment[plan.HeaderLength..]);

        int ip = plan.IpHeaderLength;
        ReadOnlySpan<byte> source;
        ReadOnlySpan<byte> target;
        if (plan.IsIPv6)
        {
            BinaryPrimitives.WriteUInt16BigEndian(segment[4..], (ushort)(length - Ipv6Header));
            source = segment.Slice(8, 16);
            target = segment.Slice(24, 16);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(segment[2..], (ushort)length);
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
            BinaryPrimitives.WriteUInt16BigEndian(segment[4..], (ushort)(id + index));
            segment[10] = 0;
            segment[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(segment[10..], InternetChecksum.Compute(segment[..ip]));
            source = segment.Slice(12, 4);
            target = segment.Slice(16, 4);
        }

        Span<byte> tcp = segment[ip..];
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(packet[(ip + 4)..]);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], unchecked(sequence + (uint)(index * plan.SegmentSize)));
        byte flags = tcp[13];
        if (index != plan.SegmentCount - 1)
        {
            flags &= unchecked((byte)~(TcpFin | TcpPsh));
        }

        if (index != 0)
        {
            flags &= unchecked((byte)~TcpCwr);
        }

        tcp[13] = flags;
        tcp[TcpChecksumOffset] = 0;
        tcp[TcpChecksumOffset + 1] = 0;
        ushort pseudo = InternetChecksum.PseudoHeaderSum(source, target, ProtocolTcp, tcp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[TcpChecksumOffset..], InternetChecksum.Compute(tcp, pseudo));
        return length;
    }
}
