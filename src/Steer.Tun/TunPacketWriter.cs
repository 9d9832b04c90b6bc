using Steer.Tun.Linux;
using Steer.Tun.Linux.Offload;

namespace Steer.Tun;

/// <summary>
/// Writes the packets of one receive loop to a TUN device, merging consecutive segments of a TCP flow into one
/// super-packet where the device takes them (Linux with offloads: one write and one pass through the host's stack for
/// up to 64 KiB instead of one per segment). Elsewhere it writes every packet at once, like
/// <see cref="ITunDevice.WriteAsync"/>.
/// </summary>
/// <remarks>
/// A packet may be held until <see cref="FlushAsync"/>: the loop calls it whenever it is about to wait for more input
/// (its socket has nothing more to read), so holding adds no delay. Packets leave in the order they were written.
/// One writer per loop: it is not thread-safe, and each call must complete before the next. <see cref="WriteAsync"/>
/// copies what it holds, so the caller's buffer is free again once the call has completed. Nothing is allocated per
/// packet.
/// </remarks>
public sealed class TunPacketWriter
{
    private readonly ITunDevice _device;
    private readonly LinuxTunDevice? _offloading;
    private TcpCoalescer? _coalescer;
    private long _superPackets;
    private long _mergedSegments;
    private long _refused;

    /// <summary>Creates a writer for <paramref name="device"/>.</summary>
    public TunPacketWriter(ITunDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        if (OperatingSystem.IsLinux() && device is LinuxTunDevice { OffloadEnabled: true } linux)
        {
            _offloading = linux;
            _coalescer = new TcpCoalescer();
        }
    }

    /// <summary>The device written to.</summary>
    public ITunDevice Device => _device;

    /// <summary>True while this writer merges TCP segments (Linux with offloads, and the kernel took them so far).</summary>
    public bool Merges => _coalescer is not null;

    /// <summary>Super-packets written (each of two or more segments).</summary>
    public long SuperPackets => Volatile.Read(ref _superPackets);

    /// <summary>Segments that went out inside super-packets.</summary>
    public long MergedSegments => Volatile.Read(ref _mergedSegments);

    /// <summary>Times the kernel refused a super-packet (after the first, the writer stops merging).</summary>
    public long Refused => Volatile.Read(ref _refused);

    /// <summary>Writes a packet, or holds it (copied) to merge it with the next ones.</summary>
    /// <exception cref="TunException">The kernel refused a write (of this packet, or of held ones written first).</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        TcpCoalescer? coalescer = _coalescer;
        if (coalescer is null)
        {
            return _device.WriteAsync(packet, cancellationToken);
        }

        switch (coalescer.TryAdd(packet.Span))
        {
            case CoalesceResult.Added:
                return default;
            case CoalesceResult.FlushFirst:
                ValueTask flush = FlushAsync(cancellationToken);
                if (!flush.IsCompletedSuccessfully)
                {
                    return AddAfterAsync(flush, packet, cancellationToken);
                }

                return WriteAsync(packet, cancellationToken); // starts a new super-packet (or, disabled, goes out)
            default:
                if (coalescer.Count == 0)
                {
                    return _device.WriteAsync(packet, cancellationToken);
                }

                ValueTask pending = FlushAsync(cancellationToken);
                if (!pending.IsCompletedSuccessfully)
                {
                    return WriteAfterAsync(pending, packet, cancellationToken);
                }

                return _device.WriteAsync(packet, cancellationToken);
        }
    }

    /// <summary>Writes what is held. Call it before waiting for more packets.</summary>
    /// <exception cref="TunException">The kernel refused the write.</exception>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        TcpCoalescer? coalescer = _coalescer;
        if (coalescer is null || coalescer.Count == 0)
        {
            return default;
        }

        // The coalescer's buffer is reused by the next WriteAsync, which callers make only once this call's task has
        // completed.
        int count = coalescer.Count;
        ReadOnlyMemory<byte> memory = coalescer.Complete(out int segmentSize);
        if (segmentSize == 0 || !OperatingSystem.IsLinux())
        {
            return _device.WriteAsync(memory, cancellationToken); // one segment: the packet as it came
        }

        _superPackets++;
        _mergedSegments += count;
        ValueTask<bool> write;
        try
        {
            write = _offloading!.WriteSuperPacketAsync(memory, segmentSize, cancellationToken);
        }
        catch (TunException)
        {
            return WriteSegmentsAfterRefusalAsync(memory, segmentSize, cancellationToken);
        }

        if (write.IsCompletedSuccessfully)
        {
            return write.Result ? default : WriteSegmentsAfterRefusalAsync(memory, segmentSize, cancellationToken);
        }

        return AwaitSuperPacketAsync(write, memory, segmentSize, cancellationToken);
    }

    private async ValueTask AwaitSuperPacketAsync(ValueTask<bool> write, ReadOnlyMemory<byte> memory, int segmentSize, CancellationToken cancellationToken)
    {
        bool written;
        try
        {
            written = await write.ConfigureAwait(false);
        }
        catch (TunException)
        {
            written = false;
        }

        if (!written)
        {
            await WriteSegmentsAfterRefusalAsync(memory, segmentSize, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The kernel (or the device's own check) refused a super-packet: stop merging for good and write its segments
    /// one by one, so nothing is lost.
    /// </summary>
    private async ValueTask WriteSegmentsAfterRefusalAsync(ReadOnlyMemory<byte> superPacket, int segmentSize, CancellationToken cancellationToken)
    {
        _coalescer = null;
        Interlocked.Increment(ref _refused);
        if (TcpSegmenter.TryPlanWrite(superPacket.Span, segmentSize, out _, out GsoPlan plan) != OffloadDropReason.None)
        {
            throw new TunException($"A merged TCP packet for {_device.Name} could not be cut again; its segments were dropped.");
        }

        if (OperatingSystem.IsLinux()) // always: only a Linux device merges
        {
            await _offloading!.WriteSegmentsAsync(superPacket, plan, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask AddAfterAsync(ValueTask flush, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken)
    {
        await flush.ConfigureAwait(false);
        await WriteAsync(packet, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteAfterAsync(ValueTask flush, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken)
    {
        await flush.ConfigureAwait(false);
        await _device.WriteAsync(packet, cancellationToken).ConfigureAwait(false);
    }
}
