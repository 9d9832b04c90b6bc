using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace Steer.Protocol.Dtls;

/// <summary>
/// Gateway side: one DTLS peer behind the gateway's shared UDP socket. The socket's receive loop
/// <see cref="Deliver"/>s datagrams from this peer's address; BouncyCastle's blocking receive takes them from a
/// bounded queue (full → the datagram is dropped, as the network would). Sends go to the shared socket: at once, or
/// inside <see cref="BeginBatch"/> / <see cref="EndBatch"/> together with one <c>sendmmsg</c>.
/// </summary>
internal sealed class PeerDatagramTransport : DatagramTransport, IDatagramBatching
{
    private const int QueueCapacity = 1024;

    private readonly Socket _socket;
    private readonly int _mtu;
    private readonly UdpBatchOptions _batching;
    private readonly object _gate = new();
    private readonly Queue<(byte[] Buffer, int Length)> _queue = new(64);
    private UdpBatch? _send;
    private int _batchThread;
    private long _delivered;
    private bool _waiting;
    private volatile bool _closed;

    /// <param name="socket">The gateway's shared UDP socket.</param>
    /// <param name="remote">The peer's address (a copy this transport owns).</param>
    /// <param name="mtu">Outer path MTU assumed for the datagrams.</param>
    /// <param name="batching">Batching options; null: <see cref="UdpBatchOptions.Default"/>.</param>
    /// <param name="guard">Counts (and drops early) garbage, replayed and rejected records; null: a guard of its own.</param>
    public PeerDatagramTransport(Socket socket, SocketAddress remote, int mtu, UdpBatchOptions? batching = null, DtlsRecordGuard? guard = null)
    {
        Guard = guard ?? new DtlsRecordGuard();
        _socket = socket;
        _mtu = mtu;
        _batching = batching ?? UdpBatchOptions.Default;
        Remote = remote;
    }

    public SocketAddress Remote { get; }

    /// <summary>The record guard every datagram of this peer passes on its way to BouncyCastle (drop counters).</summary>
    public DtlsRecordGuard Guard { get; }

    /// <summary>
    /// Called on the receiving thread each time the queue is empty and the next receive is about to wait: where a
    /// batching packet consumer writes what it holds (see <see cref="UdpDatagramTransport.BeforeWait"/>).
    /// </summary>
    public Action? BeforeWait { get; set; }

    /// <summary>Datagrams handed to this peer so far.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    public bool IsClosed => _closed;

    /// <summary>The send batch, once the channel used one (counters, mode).</summary>
    public UdpBatch? SendBatch => _send;

    /// <summary>Queues a datagram from the peer (copied into a pooled buffer); false when closed or the queue is full.</summary>
    public bool Deliver(ReadOnlySpan<byte> datagram)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(buffer);
        lock (_gate)
        {
            if (!_closed && _queue.Count < QueueCapacity)
            {
                _queue.Enqueue((buffer, datagram.Length));
                _delivered++;
                if (_waiting)
                {
                    Monitor.Pulse(_gate);
                }

                return true;
            }
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    public int GetReceiveLimit() => _batching.SlotSize;

    public int GetSendLimit() => _mtu - 48;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        long deadline = waitMillis <= 0 ? long.MaxValue : Environment.TickCount64 + waitMillis;
        while (true)
        {
            if (!TryTakeNow(out (byte[] Buffer, int Length) item))
            {
                BeforeWait?.Invoke();
                if (!TryTake(deadline, out item))
                {
                    Guard.OnReceiveTimeout();
                    return -1;
                }
            }

            if (!Guard.Inspect(item.Buffer.AsSpan(0, item.Length)))
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
                continue; // garbage or a replay: dropped
            }

            int length = Math.Min(item.Length, buffer.Length);
            item.Buffer.AsSpan(0, length).CopyTo(buffer);
            ArrayPool<byte>.Shared.Return(item.Buffer);
            return length;
        }
    }

    private bool TryTakeNow(out (byte[] Buffer, int Length) item)
    {
        lock (_gate)
        {
            return _queue.TryDequeue(out item);
        }
    }

    private bool TryTake(long deadline, out (byte[] Buffer, int Length) item)
    {
        lock (_gate)
        {
            while (!_queue.TryDequeue(out item))
            {
                if (_closed)
                {
                    throw new IOException("DTLS peer closed");
                }

                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0)
                {
                    return false;
                }

                _waiting = true;
                try
                {
                    Monitor.Wait(_gate, remaining > int.MaxValue ? Timeout.Infinite : (int)remaining);
                }
                finally
                {
                    _waiting = false;
                }
            }
        }

        return true;
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (_closed)
        {
            return;
        }

        try
        {
            if (_send is not null && Volatile.Read(ref _batchThread) == Environment.CurrentManagedThreadId)
            {
                if (!_send.TryAdd(buffer, Remote))
                {
                    _send.Flush();
                    if (!_send.TryAdd(buffer, Remote))
                    {
                        _send.SendNow(buffer, Remote);
                    }
                }

                return;
            }

            // Handshake flights, alerts, and sends outside a batch: at once.
            _socket.SendTo(buffer, SocketFlags.None, Remote);
        }
        catch (SocketException)
        {
            // Best effort, as UDP is.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void BeginBatch()
    {
        _send ??= new UdpBatch(_socket, _batching, withAddresses: false);
        Volatile.Write(ref _batchThread, Environment.CurrentManagedThreadId);
    }

    public void EndBatch()
    {
        Volatile.Write(ref _batchThread, 0);
        try
        {
            _send?.Flush();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            while (_queue.TryDequeue(out (byte[] Buffer, int Length) item))
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }

            Monitor.PulseAll(_gate);
        }
    }
}
