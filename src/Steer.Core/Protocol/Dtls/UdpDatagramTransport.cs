using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace Steer.Protocol.Dtls;

/// <summary>
/// Adapts a connected UDP socket to BouncyCastle's blocking <see cref="DatagramTransport"/> (client side).
/// Unreachable-port errors read as silence: a blocked or filtered path is detected by the channel's keepalives,
/// not by a socket exception that would fail the DTLS session.
/// </summary>
internal sealed class UdpDatagramTransport(Socket socket, int mtu) : DatagramTransport
{
    private const int UdpOverhead = 48; // IPv6 (40) + UDP (8): the worst case for the outer header.

    public int GetReceiveLimit() => 65507;

    public int GetSendLimit() => mtu - UdpOverhead;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        try
        {
            if (!socket.Poll(waitMillis <= 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(waitMillis), SelectMode.SelectRead))
            {
                return -1;
            }

            return socket.Receive(buffer, SocketFlags.None);
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
            socket.Send(buffer, SocketFlags.None);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.AccessDenied or SocketError.NoBufferSpaceAvailable or SocketError.WouldBlock)
        {
            // UDP is best effort: a filtered path (EPERM from a firewall) or a full buffer drops the datagram.
        }
    }

    public void Close() => socket.Dispose();
}
