namespace Steer.Tun.Linux.Offload;

/// <summary>
/// The read side of an offloading TUN (IFF_VNET_HDR + TUNSETOFFLOAD): one buffer for a virtio header plus a packet
/// of up to 64 KiB, allocated once; each read is checked, its checksum completed or the TCP super-packet it holds cut
/// into segments, which are then handed out one per call. Owned by the device's single reader; not thread-safe.
/// Nothing here throws on bad input or allocates: a malformed read is dropped and counted.
/// </summary>
internal sealed class OffloadReader
{
    /// <summary>Largest packet a TUN hands out with offloads on (the kernel's default GSO limit, GSO_LEGACY_MAX_SIZE).</summary>
    public const int MaxPacket = 65536;

    /// <summary>Size of <see cref="ReceiveBuffer"/>.</summary>
    public const int BufferSize = VirtioNetHeader.Size + MaxPacket;

    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
    private GsoPlan _plan;
    private int _next;

    // Written only by the reader; read by others through the properties (64-bit reads are atomic on 64-bit targets).
    private long _packets;
    private long _superPackets;
    private long _segments;
    private long _largestSuperPacket;
    private long _checksumsCompleted;
    private long _dropped;
    private long _droppedUnsupportedGso;
    private OffloadDropReason _lastDrop;

    /// <summary>Where the device reads into: a virtio header followed by the packet.</summary>
    public Memory<byte> ReceiveBuffer => _buffer;

    /// <summary>True while segments of the last super-packet wait to be handed out.</summary>
    public bool HasPending => _next < _plan.SegmentCount;

    /// <summary>Reads from the device (each a packet or a super-packet).</summary>
    public long Packets => Volatile.Read(ref _packets);

    /// <summary>Reads that were TCP super-packets (GSO) and were split in user space.</summary>
    public long SuperPackets => Volatile.Read(ref _superPackets);

    /// <summary>Segments made from super-packets.</summary>
    public long Segments => Volatile.Read(ref _segments);

    /// <summary>The longest super-packet seen, in bytes without the virtio header.</summary>
    public long LargestSuperPacket => Volatile.Read(ref _largestSuperPacket);

    /// <summary>Packets whose partial transport checksum was completed here.</summary>
    public long ChecksumsCompleted => Volatile.Read(ref _checksumsCompleted);

    /// <summary>Reads (or the remaining segments of a super-packet) dropped as malformed, any reason.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>The subset of <see cref="Dropped"/> with a GSO type other than TCP.</summary>
    public long DroppedUnsupportedGso => Volatile.Read(ref _droppedUnsupportedGso);

    /// <summary>Why the last drop happened (for tests and diagnostics).</summary>
    public OffloadDropReason LastDropReason => _lastDrop;

    /// <summary>
    /// Takes a read of <paramref name="received"/> bytes from <see cref="ReceiveBuffer"/> and writes the first packet
    /// it yields into <paramref name="destination"/>.
    /// </summary>
    /// <returns>The packet's length, or -1 when the read was dropped (counted; read again).</returns>
    public int Accept(int received, Span<byte> destination)
    {
        _plan = default;
        _next = 0;
        _packets++;
        if (received <= VirtioNetHeader.Size || received > _buffer.Length)
        {
            return Drop(OffloadDropReason.Truncated);
        }

        VirtioNetHeader header = VirtioNetHeader.Read(_buffer);
        Span<byte> packet = _buffer.AsSpan(VirtioNetHeader.Size, received - VirtioNetHeader.Size);
        if (header.GsoType == VirtioNetHeader.GsoNone)
        {
            if ((header.Flags & VirtioNetHeader.FlagNeedsChecksum) != 0)
            {
                if (!TcpSegmenter.TryCompleteChecksum(packet, header.ChecksumStart, header.ChecksumOffset))
                {
                    return Drop(OffloadDropReason.ChecksumOutOfRange);
                }

                _checksumsCompleted++;
            }

            if (packet.Length > destination.Length)
            {
                return Drop(OffloadDropReason.BufferTooSmall);
            }

            packet.CopyTo(destination);
            return packet.Length;
        }

        OffloadDropReason reason = TcpSegmenter.TryPlan(packet, header, out GsoPlan plan);
        if (reason != OffloadDropReason.None)
        {
            return Drop(reason);
        }

        _plan = plan;
        _superPackets++;
        _segments += plan.SegmentCount;
        if (plan.PacketLength > _largestSuperPacket)
        {
            _largestSuperPacket = plan.PacketLength;
        }

        return Next(destination);
    }

    /// <summary>Writes the next pending segment into <paramref name="destination"/>.</summary>
    /// <returns>The segment's length, or -1 when there is none or it does not fit (the rest of the super-packet is
    /// then dropped and counted).</returns>
    public int Next(Span<byte> destination)
    {
        if (!HasPending)
        {
            return -1;
        }

        int length = TcpSegmenter.WriteSegment(_buffer.AsSpan(VirtioNetHeader.Size, _plan.PacketLength), _plan, _next, destination);
        if (length < 0)
        {
            _plan = default;
            _next = 0;
            return Drop(OffloadDropReason.BufferTooSmall);
        }

        _next++;
        return length;
    }

    private int Drop(OffloadDropReason reason)
    {
        _dropped++;
        if (reason == OffloadDropReason.UnsupportedGsoType)
        {
            _droppedUnsupportedGso++;
        }

        _lastDrop = reason;
        return -1;
    }
}
