using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Steer.Protocol;

/// <summary>
/// The data phase of a tunnel: framed IP packets, keepalives and dead-peer detection over one byte stream
/// (TLS today). Shared by the client and the gateway.
/// </summary>
/// <remarks>
/// Packets to send are copied into pooled buffers and queued; one send loop drains the queue and writes as many
/// frames as fit into one 64 KiB write, so several packets share a TLS record when they queue up. One receive loop
/// reads frames through a single reusable buffer and hands each packet to the owner's handler. Nothing is
/// allocated per packet.
/// </remarks>
internal sealed partial class TunnelConnection : IAsyncDisposable
{
    /// <summary>Called for every received packet; the memory is valid only until the returned task completes.</summary>
    public delegate ValueTask PacketHandler(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken);

    private const int BatchSize = 64 * 1024;

    private readonly Stream _stream;
    private readonly FrameReader _reader;
    private readonly int _maxPacket;
    private readonly TimeSpan _keepaliveInterval;
    private readonly TimeSpan _deadPeerTimeout;
    private readonly ILogger _logger;
    private readonly Channel<OutgoingFrame> _queue;
    private readonly CancellationTokenSource _stop = new();
    private long _lastReceivedTicks;
    private string? _closeReason;
    private int _disposed;

    /// <param name="stream">The authenticated stream (TLS).</param>
    /// <param name="reader">The frame reader already used for the handshake (it may hold buffered frames).</param>
    /// <param name="maxPacket">Largest IP packet allowed in a Data frame (the session MTU); larger ones end the session.</param>
    /// <param name="keepaliveInterval">Keepalive period; the peer is dead after three silent periods.</param>
    /// <param name="queueCapacity">Packets that may wait for the send loop.</param>
    /// <param name="logger">Logger.</param>
    public TunnelConnection(Stream stream, FrameReader reader, int maxPacket, TimeSpan keepaliveInterval, int queueCapacity, ILogger logger)
    {
        _stream = stream;
        _maxPacket = maxPacket;
        _reader = reader;
        _keepaliveInterval = keepaliveInterval;
        _deadPeerTimeout = (keepaliveInterval * 3) + TimeSpan.FromSeconds(1);
        _logger = logger;
        _queue = Channel.CreateBounded<OutgoingFrame>(new BoundedChannelOptions(queueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,

            // Not AllowSynchronousContinuations: running the send loop on the writer's thread saved a thread hop per
            // packet at low rates, but under load it turned every packet into its own TLS record and write (the loop
            // drained one packet per call) and halved the lab's TCP throughput.
        });
        _lastReceivedTicks = Environment.TickCount64;
    }

    public TunnelCounters Counters { get; } = new();

    /// <summary>Why the connection ended, once it has.</summary>
    public string? CloseReason => _closeReason;

    /// <summary>
    /// Queues one IP packet. Returns false (and counts a drop) when the queue is full or the connection is closing:
    /// like a NIC queue, a tunnel drops rather than blocks its reader, and TCP above recovers.
    /// </summary>
    public bool TrySendPacket(ReadOnlySpan<byte> packet) => TryQueue(FrameType.Data, packet);

    /// <summary>Runs the send, receive and keepalive loops until the peer closes, fails, or the token fires.</summary>
    /// <exception cref="PeerErrorException">The peer sent an Error frame.</exception>
    /// <exception cref="SteerProtocolException">The peer broke the protocol.</exception>
    /// <exception cref="TimeoutException">Nothing arrived within the dead-peer timeout.</exception>
    public Task RunAsync(PacketHandler onPacket, CancellationToken cancellationToken) => RunAsync(onPacket, null, cancellationToken);

    /// <summary>Runs the send, receive and keepalive loops until the peer closes, fails, or the token fires.</summary>
    /// <param name="onPacket">Called for every received packet, one at a time.</param>
    /// <param name="onIdle">Called after one or more packets when no further frame has been received yet, before the
    /// receive loop waits for more: where a batching <paramref name="onPacket"/> writes what it holds.</param>
    /// <param name="cancellationToken">Ends the loops.</param>
    /// <exception cref="PeerErrorException">The peer sent an Error frame.</exception>
    /// <exception cref="SteerProtocolException">The peer broke the protocol.</exception>
    /// <exception cref="TimeoutException">Nothing arrived within the dead-peer timeout.</exception>
    public async Task RunAsync(PacketHandler onPacket, Func<CancellationToken, ValueTask>? onIdle, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        CancellationToken ct = linked.Token;
        Task receive = ReceiveLoopAsync(onPacket, onIdle, ct);
        Task send = SendLoopAsync(ct);
        Task keepalive = KeepaliveLoopAsync(ct);
        Task first = await Task.WhenAny(receive, send, keepalive).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();

        // Unblock a read or write stuck in the stream.
        await _stream.DisposeAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(receive, send, keepalive).ConfigureAwait(false);
        }
        catch (Exception) when (!first.IsFaulted)
        {
            // Secondary failures caused by the teardown itself.
        }

        if (first.IsFaulted)
        {
            Exception error = first.Exception!.InnerException!;
            _closeReason ??= error.Message;
            if (error is OperationCanceledException or ObjectDisposedException && (cancellationToken.IsCancellationRequested || _stop.IsCancellationRequested))
            {
                return; // Stopped on purpose (token, CloseAsync or FailAsync).
            }

            throw error;
        }

        _closeReason ??= "closed";
    }

    /// <summary>Sends an orderly Close frame (best effort) and stops the loops.</summary>
    public async ValueTask CloseAsync(string reason)
    {
        _closeReason ??= reason;
        TryQueue(FrameType.Close, System.Text.Encoding.UTF8.GetBytes(reason));
        _queue.Writer.TryComplete();

        // Give the send loop a moment to flush the Close frame.
        await Task.Delay(50).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Sends an Error frame and stops: used by the gateway when a client misbehaves.</summary>
    public async ValueTask FailAsync(string code, string message)
    {
        _closeReason ??= message;
        TryQueue(FrameType.Error, HandshakeCodec.EncodeError(code, message));
        _queue.Writer.TryComplete();
        await Task.Delay(50).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        while (_queue.Reader.TryRead(out OutgoingFrame item))
        {
            ArrayPool<byte>.Shared.Return(item.Buffer);
        }

        _stop.Dispose();
    }

    private bool TryQueue(FrameType type, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > FrameCodec.MaxPayload)
        {
            Counters.Dropped();
            return false;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 1));
        payload.CopyTo(buffer);
        if (_queue.Writer.TryWrite(new OutgoingFrame(type, buffer, payload.Length)))
        {
            return true;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        Counters.Dropped();
        return false;
    }

    private async Task SendLoopAsync(CancellationToken ct)
    {
        byte[] batch = ArrayPool<byte>.Shared.Rent(BatchSize + FrameCodec.HeaderSize + FrameCodec.MaxPayload);
        try
        {
            ChannelReader<OutgoingFrame> reader = _queue.Reader;
            while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                int used = 0;
                bool closing = false;
                while (used < BatchSize && reader.TryRead(out OutgoingFrame item))
                {
                    FrameCodec.WriteHeader(batch.AsSpan(used), item.Type, item.Length);
                    item.Buffer.AsSpan(0, item.Length).CopyTo(batch.AsSpan(used + FrameCodec.HeaderSize));
                    used += FrameCodec.HeaderSize + item.Length;
                    if (item.Type == FrameType.Data)
                    {
                        Counters.Sent(item.Length);
                    }

                    closing |= item.Type is FrameType.Close or FrameType.Error;
                    ArrayPool<byte>.Shared.Return(item.Buffer);
                }

                await _stream.WriteAsync(batch.AsMemory(0, used), ct).ConfigureAwait(false);
                if (closing)
                {
                    await _stream.FlushAsync(ct).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(batch);
        }
    }

    private async Task ReceiveLoopAsync(PacketHandler onPacket, Func<CancellationToken, ValueTask>? onIdle, CancellationToken ct)
    {
        bool delivered = false;
        while (true)
        {
            if (delivered && onIdle is not null && !_reader.HasCompleteFrame)
            {
                delivered = false;
                await onIdle(ct).ConfigureAwait(false);
            }

            Frame? next = await _reader.ReadAsync(ct).ConfigureAwait(false);
            if (next is not { } frame)
            {
                _closeReason ??= "peer closed the connection";
                return;
            }

            Volatile.Write(ref _lastReceivedTicks, Environment.TickCount64);
            switch (frame.Type)
            {
                case FrameType.Data:
                    if (frame.Payload.Length > _maxPacket)
                    {
                        throw new SteerProtocolException($"Data frame of {frame.Payload.Length} bytes exceeds the session MTU of {_maxPacket} bytes.");
                    }

                    Counters.Received(frame.Payload.Length);
                    await onPacket(frame.Payload, ct).ConfigureAwait(false);
                    delivered = true;
                    break;
                case FrameType.Keepalive:
                    TryQueue(FrameType.KeepaliveAck, frame.Payload.Span);
                    break;
                case FrameType.KeepaliveAck:
                    break;
                case FrameType.Close:
                    _closeReason ??= frame.Payload.IsEmpty
                        ? "peer closed the session"
                        : $"peer closed the session: {System.Text.Encoding.UTF8.GetString(frame.Payload.Span)}";
                    return;
                case FrameType.Error:
                    ErrorMessage error = HandshakeCodec.DecodeError(frame.Payload.Span);
                    throw new PeerErrorException(error.Code, error.Message);
                default:
                    throw new SteerProtocolException($"Unexpected {frame.Type} frame in the data phase.");
            }
        }
    }

    private async Task KeepaliveLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_keepaliveInterval);
        byte[] stamp = new byte[8];
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            long idleMs = Environment.TickCount64 - Volatile.Read(ref _lastReceivedTicks);
            if (idleMs > _deadPeerTimeout.TotalMilliseconds)
            {
                LogDeadPeer(_logger, idleMs);
                _closeReason = $"dead peer: nothing received for {idleMs} ms";
                throw new TimeoutException(_closeReason);
            }

            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(stamp, Environment.TickCount64);
            TryQueue(FrameType.Keepalive, stamp);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead peer: nothing received for {IdleMs} ms")]
    private static partial void LogDeadPeer(ILogger logger, long idleMs);

    private readonly record struct OutgoingFrame(FrameType Type, byte[] Buffer, int Length);
}
