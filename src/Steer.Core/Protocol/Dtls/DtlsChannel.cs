using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Tls;

namespace Steer.Protocol.Dtls;

/// <summary>
/// The data channel over an established DTLS session (both sides): one frame (same header as on TLS) per DTLS
/// record, a dedicated receive thread (BouncyCastle's receive blocks), serialized sends, and liveness from
/// keepalives: the channel is healthy while any record arrived within <see cref="DeadAfter"/>.
/// </summary>
internal sealed partial class DtlsChannel : IDisposable
{
    /// <summary>A channel that received nothing for this long is not used for data any more.</summary>
    public static readonly TimeSpan DeadAfter = TimeSpan.FromMilliseconds(2500);

    private readonly DtlsTransport _transport;
    private readonly Action<ReadOnlyMemory<byte>> _onPacket;
    private readonly int _maxPacket;
    private readonly ILogger _logger;
    private readonly Lock _sendLock = new();
    private readonly byte[] _sendBuffer;
    private readonly Thread _receiver;
    private long _lastReceivedTicks;
    private volatile bool _closed;

    /// <param name="transport">The DTLS session.</param>
    /// <param name="onPacket">Called on the receive thread for every Data frame; the memory is valid only during the call.</param>
    /// <param name="maxPacket">Session MTU: larger Data frames are dropped.</param>
    /// <param name="name">Thread name, for diagnostics.</param>
    /// <param name="logger">Logger.</param>
    public DtlsChannel(DtlsTransport transport, Action<ReadOnlyMemory<byte>> onPacket, int maxPacket, string name, ILogger logger)
    {
        _transport = transport;
        _onPacket = onPacket;
        _maxPacket = maxPacket;
        _logger = logger;
        _sendBuffer = new byte[FrameCodec.HeaderSize + FrameCodec.MaxPayload];
        _lastReceivedTicks = Environment.TickCount64;
        _receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = name };
        _receiver.Start();
    }

    /// <summary>Packets and bytes carried, and records discarded.</summary>
    public TunnelCounters Counters { get; } = new();

    private long _keepalivesAnswered;

    /// <summary>Keepalives answered by the peer.</summary>
    public long KeepalivesAnswered => Interlocked.Read(ref _keepalivesAnswered);

    /// <summary>True while the peer was heard from within <see cref="DeadAfter"/> and the session is open.</summary>
    public bool IsHealthy => !_closed && Environment.TickCount64 - Volatile.Read(ref _lastReceivedTicks) < DeadAfter.TotalMilliseconds;

    /// <summary>True once the DTLS session failed or was closed.</summary>
    public bool IsClosed => _closed;

    /// <summary>Milliseconds since anything arrived.</summary>
    public long SilentMillis => Environment.TickCount64 - Volatile.Read(ref _lastReceivedTicks);

    /// <summary>Sends one IP packet; false when it was too large or the session is closed.</summary>
    public bool TrySendPacket(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > _maxPacket || !TrySend(FrameType.Data, packet))
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
        return TrySend(FrameType.Keepalive, stamp);
    }

    private bool TrySend(FrameType type, ReadOnlySpan<byte> payload)
    {
        if (_closed)
        {
            return false;
        }

        lock (_sendLock)
        {
            FrameCodec.WriteHeader(_sendBuffer, type, payload.Length);
            payload.CopyTo(_sendBuffer.AsSpan(FrameCodec.HeaderSize));
            try
            {
                _transport.Send(_sendBuffer.AsSpan(0, FrameCodec.HeaderSize + payload.Length));
                return true;
            }
            catch (IOException ex)
            {
                Fail(ex);
                return false;
            }
        }
    }

    private void ReceiveLoop()
    {
        byte[] buffer = new byte[FrameCodec.HeaderSize + FrameCodec.MaxPayload];
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

            try
            {
                if (!FrameCodec.TryReadFrame(buffer.AsSpan(0, length), out FrameType type, out int offset, out int payloadLength)
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
                        TrySend(FrameType.KeepaliveAck, payload);
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

    private void Fail(Exception ex)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        LogClosed(_logger, _receiver.Name ?? "dtls", ex.Message);
        try
        {
            _transport.Close();
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Sends Close (best effort) and stops the receive thread.</summary>
    public void Dispose()
    {
        if (!_closed)
        {
            TrySend(FrameType.Close, []);
            Fail(new IOException("closed locally"));
        }

        if (Thread.CurrentThread != _receiver)
        {
            _receiver.Join(TimeSpan.FromSeconds(2));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "DTLS channel {Name} closed: {Reason}")]
    private static partial void LogClosed(ILogger logger, string name, string reason);
}
