using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Org.BouncyCastle.Tls;

namespace Steer.Protocol.Dtls;

/// <summary>
/// Gateway side: one DTLS peer behind the gateway's shared UDP socket. The socket's receive loop
/// <see cref="Deliver"/>s datagrams from this peer's address; BouncyCastle's blocking receive takes them from a
/// bounded queue (full → the datagram is dropped, as the network would). Sends go straight to the shared socket.
/// </summary>
internal sealed class PeerDatagramTransport(Socket socket, SocketAddress remote, int mtu) : DatagramTransport
{
    private readonly Channel<(byte[] Buffer, int Length)> _queue = Channel.CreateBounded<(byte[], int)>(
        new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.DropWrite });

    private long _delivered;
    private volatile bool _closed;

    public SocketAddress Remote { get; } = remote;

    /// <summary>Datagrams handed to this peer so far.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    public bool IsClosed => _closed;

    /// <summary>Queues a datagram from the peer (copied into a pooled buffer).</summary>
    public bool Deliver(ReadOnlySpan<byte> datagram)
    {
        if (_closed)
        {
            return false;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(buffer);
        if (_queue.Writer.TryWrite((buffer, datagram.Length)))
        {
            Interlocked.Increment(ref _delivered);
            return true;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    public int GetReceiveLimit() => 65507;

    public int GetSendLimit() => mtu - 48;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        if (!_queue.Reader.TryRead(out (byte[] Buffer, int Length) item))
        {
            if (_closed)
            {
                throw new IOException("DTLS peer closed");
            }

            using var timeout = new CancellationTokenSource(waitMillis <= 0 ? Timeout.Infinite : waitMillis);
            try
            {
                if (!_queue.Reader.WaitToReadAsync(timeout.Token).AsTask().GetAwaiter().GetResult() || !_queue.Reader.TryRead(out item))
                {
                    throw new IOException("DTLS peer closed");
                }
            }
            catch (OperationCanceledException)
            {
                return -1;
            }
        }

        int length = Math.Min(item.Length, buffer.Length);
        item.Buffer.AsSpan(0, length).CopyTo(buffer);
        ArrayPool<byte>.Shared.Return(item.Buffer);
        return length;
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
            socket.SendTo(buffer, SocketFlags.None, Remote);
        }
        catch (SocketException)
        {
            // Best effort, as UDP is.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Close()
    {
        _closed = true;
        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out (byte[] Buffer, int Length) item))
        {
            ArrayPool<byte>.Shared.Return(item.Buffer);
        }
    }
}
