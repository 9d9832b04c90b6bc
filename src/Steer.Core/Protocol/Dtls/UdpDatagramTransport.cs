using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace Steer.Protocol.Dtls;

/// <summary>
/// Adapts a connected UDP socket to BouncyCastle's blocking <see cref="DatagramTransport"/> (client side), with
/// batched system calls: one <c>recvmmsg</c> fills a batch that the following <see cref="Receive(Span{byte}, int)"/>
/// calls hand out one datagram at a time, and records sent inside <see cref="BeginBatch"/> / <see cref="EndBatch"/>
/// leave with one <c>sendmmsg</c> (see <see cref="UdpBatch"/>, which falls back to one call per datagram).
/// Unreachable-port errors read as silence: a blocked or filtered path is detected by the channel's keepalives,
/// not by a socket exception that would fail the DTLS session.
/// </summary>
internal sealed class UdpDatagramTransport : DatagramTransport, IDatagramBatching
{
    private const int UdpOverhead = 48; // IPv6 (40) + UDP (8): the worst case for the outer header.

    private readonly Socket _socket;
    private readonly int _mtu;
    private readonly UdpBatch _receive;
    private readonly UdpBatch _send;
    private int _next;
    private int _batchThread;

    /// <param name="socket">A UDP socket connected to the peer.</param>
    /// <param name="mtu">Outer path MTU assumed for the datagrams.</param>
    /// <param name="batching">Batching options; null: <see cref="UdpBatchOptions.Default"/>.</param>
    /// <param name="guard">Counts (and drops early) garbage, replayed and rejected records; null: a guard of its own.</param>
    public UdpDatagramTransport(Socket socket, int mtu, UdpBatchOptions? batching = null, DtlsRecordGuard? guard = null)
    {
        Guard = guard ?? new DtlsRecordGuard();
        _socket = socket;
        _mtu = mtu;
        batching ??= UdpBatchOptions.Default;
        _receive = new UdpBatch(socket, batching, withAddresses: false);
        _send = new UdpBatch(socket, batching, withAddresses: false);
    }

    /// <summary>The record guard every received datagram passes (drop counters).</summary>
    public DtlsRecordGuard Guard { get; }

    /// <summary>
    /// Called on the receiving thread each time the datagrams received so far have all been handed out and the next
    /// receive is about to wait for the socket: where a batching packet consumer writes what it holds, so holding
    /// packets within one batch adds no delay.
    /// </summary>
    public Action? BeforeWait { get; set; }

    /// <summary>The receive side's batch (counters, mode).</summary>
    public UdpBatch ReceiveBatch => _receive;

    /// <summary>The send side's batch (counters, mode).</summary>
    public UdpBatch SendBatch => _send;

    public int GetReceiveLimit() => _receive.SlotSize;

    public int GetSendLimit() => _mtu - UdpOverhead;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        try
        {
            while (true)
            {
                while (_next < _receive.Count)
                {
                    ReadOnlySpan<byte> datagram = _receive.Datagram(_next++);
                    if (datagram.Length == 0 || !Guard.Inspect(datagram))
                    {
                        continue; // truncated, garbage or a replay: dropped
                    }

                    int length = Math.Min(datagram.Length, buffer.Length);
                    datagram[..length].CopyTo(buffer);
                    return length;
                }

                _next = 0;
                BeforeWait?.Invoke();
                if (_receive.Receive(waitMillis) == 0)
                {
                    Guard.OnReceiveTimeout();
                    return -1;
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
        {
            return -1;
        }
        catch (ObjectDisposedException)
        {
            throw new IOException("DTLS socket closed");
        }
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        try
        {
            if (Volatile.Read(ref _batchThread) == Environment.CurrentManagedThreadId)
            {
                if (!_send.TryAdd(buffer, null))
                {
                    _send.Flush();
                    if (!_send.TryAdd(buffer, null))
                    {
                        _send.SendNow(buffer, null);
                    }
                }

                return;
            }

            // UDP is best effort: a filtered path (EPERM from a firewall) or a full buffer drops the datagram.
            _send.SendNow(buffer, null);
        }
        catch (ObjectDisposedException)
        {
            throw new IOException("DTLS socket closed");
        }
    }

    public void BeginBatch() => Volatile.Write(ref _batchThread, Environment.CurrentManagedThreadId);

    public void EndBatch()
    {
        Volatile.Write(ref _batchThread, 0);
        try
        {
            _send.Flush();
        }
        catch (ObjectDisposedException)
        {
            // Closed while the batch was open: the records are gone with the socket.
        }
    }

    public void Close() => _socket.Dispose();
}
