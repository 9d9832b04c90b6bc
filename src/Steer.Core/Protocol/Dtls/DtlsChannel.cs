using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Tls;

namespace Steer.Protocol.Dtls;

/// <summary>
/// The data channel over an established DTLS session (both sides): one frame (same header as on TLS) per DTLS
/// record; a sender thread that drains a queue of frames and writes them as records into the datagram adapter inside
/// one batch (one <c>sendmmsg</c> per drain); a receive thread (BouncyCastle's receive blocks); liveness from
/// keepalives (healthy while any record arrived within <see cref="DeadAfter"/>); and in-band path-MTU probing of
/// this side's send direction (<see cref="PathMtu"/>, see <see cref="PathMtuProber"/>).
/// </summary>
internal sealed partial class DtlsChannel : IDisposable
{
    /// <summary>A channel that received nothing for this long is not used for data any more.</summary>
    public static readonly TimeSpan DeadAfter = TimeSpan.FromMilliseconds(2500);

    /// <summary>Data frames that may wait for the sender thread; more are dropped (like a NIC queue). Control frames always queue.</summary>
    private const int MaxQueuedData = 2048;

    /// <summary>A packet queued after this much quiet is sent on the caller's thread (see <see cref="TryQueue"/>).</summary>
    private static readonly long InlineAfterIdleTicks = Stopwatch.Frequency / 1000;

    /// <summary>Slack in the receive buffer above the largest frame, so BouncyCastle never truncates a valid record.</summary>
    private const int ReceiveSlack = 64;

    private readonly DtlsTransport _transport;
    private readonly Action<ReadOnlyMemory<byte>> _onPacket;
    private readonly int _maxPacket;
    private readonly int _maxSendable;
    private readonly ILogger _logger;
    private readonly IDatagramBatching? _batching;
    private readonly DtlsRecordGuard? _guard;
    private readonly PathMtuProber _prober;
    private readonly PathMtuProber.ProbeSender _sendProbe;
    private readonly Timer _probeTimer;
    private readonly object _gate = new();
    private readonly Thread _receiver;
    private readonly Thread _sender;
    private Queue<Outgoing> _pending = new(256);
    private Queue<Outgoing> _draining = new(256);
    private int _queuedData;
    private bool _senderWaiting;
    private bool _inlineSending;
    private long _lastQueued;
    private bool _closing;
    private long _lastReceivedTicks;
    private long _keepalivesAnswered;
    private volatile bool _closed;

    /// <param name="transport">The DTLS session.</param>
    /// <param name="onPacket">Called on the receive thread for every Data frame; the memory is valid only during the call.</param>
    /// <param name="maxPacket">Session MTU: larger Data frames are dropped.</param>
    /// <param name="name">Thread name, for diagnostics.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="batching">The datagram adapter under <paramref name="transport"/>, when it batches sends.</param>
    /// <param name="pathMtu">Path-MTU probing options; null: defaults, searching up to <paramref name="maxPacket"/>.</param>
    /// <param name="guard">The record guard of the datagram adapter under <paramref name="transport"/>, told of every record received.</param>
    public DtlsChannel(
        DtlsTransport transport, Action<ReadOnlyMemory<byte>> onPacket, int maxPacket, string name, ILogger logger,
        IDatagramBatching? batching = null, PathMtuOptions? pathMtu = null, DtlsRecordGuard? guard = null)
    {
        _guard = guard;
        _transport = transport;
        _onPacket = onPacket;
        _maxPacket = maxPacket;
        _logger = logger;
        _batching = batching;

        // One record carries at most the transport's plaintext limit; BouncyCastle fails the session on more.
        _maxSendable = Math.Min(maxPacket, transport.GetSendLimit() - FrameCodec.HeaderSize);
        PathMtuOptions options = pathMtu ?? new PathMtuOptions { MaxMtu = maxPacket };
        _prober = new PathMtuProber(options with { MaxMtu = Math.Min(options.MaxMtu, _maxSendable), SilenceLimit = DeadAfter });
        _sendProbe = SendProbe;
        _lastReceivedTicks = Environment.TickCount64;
        _receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = name };
        _sender = new Thread(SendLoop) { IsBackground = true, Name = name + "-send" };
        _probeTimer = new Timer(static s => ((DtlsChannel)s!).OnProbeTimer(), this, Timeout.Infinite, Timeout.Infinite);
        _receiver.Start();
        _sender.Start();
        _probeTimer.Change(0, Timeout.Infinite);
    }

    /// <summary>Packets and bytes carried, and records discarded.</summary>
    public TunnelCounters Counters { get; } = new();

    /// <summary>Keepalives answered by the peer.</summary>
    public long KeepalivesAnswered => Interlocked.Read(ref _keepalivesAnswered);

    /// <summary>True while the peer was heard from within <see cref="DeadAfter"/> and the session is open.</summary>
    public bool IsHealthy => !_closed && Environment.TickCount64 - Volatile.Read(ref _lastReceivedTicks) < DeadAfter.TotalMilliseconds;

    /// <summary>True once the DTLS session failed or was closed.</summary>
    public bool IsClosed => _closed;

    /// <summary>Milliseconds since anything arrived.</summary>
    public long SilentMillis => Environment.TickCount64 - Volatile.Read(ref _lastReceivedTicks);

    /// <summary>
    /// The largest IP packet this side sends over the channel now: probed (1280 until the first probe is answered and
    /// after a black hole), never above the session MTU; 0 while not even 1280-byte probes get through (then data
    /// must go over TLS).
    /// </summary>
    public int PathMtu => _prober.Mtu;

    /// <summary>The path-MTU state machine of this side's send direction (phase and counters).</summary>
    public PathMtuProber PathMtuProber => _prober;

    /// <summary>Queues one IP packet for the sender thread; false when it is too large, the queue is full, or the session is closed.</summary>
    public bool TrySendPacket(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > _maxSendable || !TryQueue(FrameType.Data, packet, packet.Length))
        {
            Counters.Dropped();
            return false;
        }

        Counters.Sent(packet.Length);
        return true;
    }

    /// <summary>Sends a keepalive; the peer answers with KeepaliveAck, which keeps this side healthy.</summary>
    public bool SendKeepalive()
    {
        Span<byte> stamp = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(stamp, Environment.TickCount64);
        return TryQueue(FrameType.Keepalive, stamp, stamp.Length);
    }

    /// <summary>
    /// Copies a frame into a pooled buffer and queues it for the sender thread. The payload is
    /// <paramref name="payload"/> followed by zero padding up to <paramref name="payloadLength"/>.
    /// </summary>
    private bool TryQueue(FrameType type, ReadOnlySpan<byte> payload, int payloadLength)
    {
        if (_closed)
        {
            return false;
        }

        int length = FrameCodec.HeaderSize + payloadLength;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        FrameCodec.WriteHeader(buffer, type, payloadLength);
        payload.CopyTo(buffer.AsSpan(FrameCodec.HeaderSize));
        buffer.AsSpan(FrameCodec.HeaderSize + payload.Length, payloadLength - payload.Length).Clear();
        bool data = type == FrameType.Data;
        bool inline = false;
        lock (_gate)
        {
            if (_closing || _closed || (data && _queuedData >= MaxQueuedData))
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return false;
            }

            long now = Stopwatch.GetTimestamp();
            if (_senderWaiting && _pending.Count == 0 && !_inlineSending && now - _lastQueued > InlineAfterIdleTicks)
            {
                // Nothing was sent for a while: send on this thread (the TUN reader, usually) instead of waking the
                // sender thread, one thread hop less for an isolated packet (a ping, a request). In a burst the packets
                // queue and the sender thread writes them with one sendmmsg per drain (inline sends there cost a
                // system call per packet and the overlap of reading and sending: a third of the lab's throughput).
                _inlineSending = true;
                inline = true;
            }

            _lastQueued = now;
            if (!inline)
            {
                _pending.Enqueue(new Outgoing(buffer, length, data));
                if (data)
                {
                    _queuedData++;
                }

                if (_senderWaiting && !_inlineSending)
                {
                    Monitor.Pulse(_gate);
                }

                return true;
            }
        }

        // Inline: sent here, outside the lock.

        try
        {
            if (!_closed)
            {
                _transport.Send(buffer, 0, length);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or ArgumentException)
        {
            Fail(ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            lock (_gate)
            {
                _inlineSending = false;
                if (_senderWaiting)
                {
                    Monitor.Pulse(_gate); // what queued behind the inline send, or a close waiting for it
                }
            }
        }

        return true;
    }

    /// <summary>Drains the queue: every frame becomes a record written into the adapter; one flush per drain.</summary>
    private void SendLoop()
    {
        while (true)
        {
            Queue<Outgoing> batch;
            lock (_gate)
            {
                // Not while a caller sends inline: records leave in the order they were queued.
                while (_pending.Count == 0 || _inlineSending)
                {
                    if ((_closing || _closed) && !_inlineSending && _pending.Count == 0)
                    {
                        return;
                    }

                    _senderWaiting = true;
                    Monitor.Wait(_gate);
                    _senderWaiting = false;
                }

                batch = _pending;
                _pending = _draining;
                _draining = batch;
                _queuedData = 0;
            }

            _batching?.BeginBatch();
            try
            {
                while (batch.TryDequeue(out Outgoing item))
                {
                    try
                    {
                        if (!_closed)
                        {
                            _transport.Send(item.Buffer, 0, item.Length);
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(item.Buffer);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or ArgumentException)
            {
                Fail(ex);
            }
            finally
            {
                _batching?.EndBatch();
                while (batch.TryDequeue(out Outgoing left))
                {
                    ArrayPool<byte>.Shared.Return(left.Buffer);
                }
            }
        }
    }

    private void ReceiveLoop()
    {
        // Sized to the largest frame: BouncyCastle allocates a record buffer of this size for every receive call.
        byte[] buffer = new byte[FrameCodec.HeaderSize + _maxPacket + ReceiveSlack];
        Span<byte> ack = stackalloc byte[PathProbeFrames.AckLength];
        while (!_closed)
        {
            int length;
            try
            {
                length = _transport.Receive(buffer, 0, buffer.Length, 1000);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
                Fail(ex);
                return;
            }

            if (length < 0)
            {
                continue;
            }

            // Authenticated: the guard enters its sequence number in the replay window.
            _guard?.Confirm();

            ReadOnlySpan<byte> frame = buffer.AsSpan(0, length);
            if (PathProbeFrames.IsProbeFrame(frame))
            {
                Volatile.Write(ref _lastReceivedTicks, Environment.TickCount64);
                if (!PathProbeFrames.TryParse(frame, out byte probeType, out ReadOnlySpan<byte> probePayload))
                {
                    Counters.Dropped();
                }
                else if (probeType == PathProbeFrames.Probe && PathProbeFrames.TryAnswer(probePayload, ack))
                {
                    TryQueue(PathProbeFrames.AckType, ack, ack.Length);
                }
                else if (probeType == PathProbeFrames.Ack && PathProbeFrames.TryReadAck(probePayload, out uint sequence, out int size)
                    && _prober.OnAck(sequence, size))
                {
                    KickProber();
                }

                continue;
            }

            try
            {
                if (!FrameCodec.TryReadFrame(frame, out FrameType type, out int offset, out int payloadLength)
                    || offset + payloadLength != length)
                {
                    Counters.Dropped();
                    continue;
                }

                Volatile.Write(ref _lastReceivedTicks, Environment.TickCount64);
                ReadOnlySpan<byte> payload = buffer.AsSpan(offset, payloadLength);
                switch (type)
                {
                    case FrameType.Data when payloadLength <= _maxPacket:
                        Counters.Received(payloadLength);
                        _onPacket(buffer.AsMemory(offset, payloadLength));
                        break;
                    case FrameType.Keepalive:
                        TryQueue(FrameType.KeepaliveAck, payload, payload.Length);
                        break;
                    case FrameType.KeepaliveAck:
                        Interlocked.Increment(ref _keepalivesAnswered);
                        break;
                    case FrameType.Close:
                        Fail(new IOException("peer closed the DTLS channel"));
                        return;
                    default:
                        Counters.Dropped();
                        break;
                }
            }
            catch (SteerProtocolException)
            {
                // An authenticated record with a frame we do not know: drop it, keep the channel.
                Counters.Dropped();
            }
        }
    }

    private void OnProbeTimer()
    {
        if (_closed)
        {
            return;
        }

        long now = Environment.TickCount64;
        long next = _prober.Tick(now, Volatile.Read(ref _lastReceivedTicks), _sendProbe);
        try
        {
            _probeTimer.Change(Math.Clamp(next - now, 5, 60_000), Timeout.Infinite);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void KickProber()
    {
        try
        {
            _probeTimer.Change(0, Timeout.Infinite);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>A PathProbe frame whose payload is <paramref name="size"/> bytes: the sequence number, then zeros.</summary>
    private void SendProbe(uint sequence, int size)
    {
        Span<byte> head = stackalloc byte[PathProbeFrames.SequenceLength];
        BinaryPrimitives.WriteUInt32BigEndian(head, sequence);
        TryQueue(PathProbeFrames.ProbeType, head, Math.Max(size, head.Length));
    }

    private void Fail(Exception ex)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            Monitor.PulseAll(_gate);
        }

        LogClosed(_logger, _receiver.Name ?? "dtls", ex.Message);
        _probeTimer.Dispose();
        try
        {
            _transport.Close();
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Sends Close (best effort, after what is queued) and stops both threads.</summary>
    public void Dispose()
    {
        if (!_closed)
        {
            TryQueue(FrameType.Close, [], 0);
            lock (_gate)
            {
                _closing = true;
                Monitor.PulseAll(_gate);
            }

            if (Thread.CurrentThread != _sender)
            {
                _sender.Join(TimeSpan.FromSeconds(1));
            }

            Fail(new IOException("closed locally"));
        }

        if (Thread.CurrentThread != _receiver)
        {
            _receiver.Join(TimeSpan.FromSeconds(2));
        }

        if (Thread.CurrentThread != _sender)
        {
            _sender.Join(TimeSpan.FromSeconds(2));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "DTLS channel {Name} closed: {Reason}")]
    private static partial void LogClosed(ILogger logger, string name, string reason);

    private readonly record struct Outgoing(byte[] Buffer, int Length, bool IsData);
}
