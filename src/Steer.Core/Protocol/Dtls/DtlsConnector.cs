using System.Net;
using System.Net.Sockets;
using System.Text;
using Org.BouncyCastle.Tls;

namespace Steer.Protocol.Dtls;

/// <summary>Client side: opens the DTLS data channel offered in a Welcome.</summary>
internal static class DtlsConnector
{
    /// <summary>Outer path MTU assumed for the UDP datagrams.</summary>
    public const int PathMtu = 1500;

    /// <summary>
    /// Performs the DTLS handshake (blocking; run it off the caller's thread) over a new UDP socket connected to
    /// the gateway.
    /// </summary>
    /// <exception cref="IOException">The handshake failed or timed out (e.g. UDP is blocked).</exception>
    public static DtlsTransport Connect(IPAddress gateway, DtlsOffer offer, TimeSpan timeout)
    {
        var socket = new Socket(gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.SendBufferSize = 4 * 1024 * 1024;
            socket.Connect(new IPEndPoint(gateway, offer.Port));
            var transport = new UdpDatagramTransport(socket, PathMtu);
            var client = new SteerDtlsPeers.Client(
                SteerDtlsPeers.CreateCrypto(), Encoding.UTF8.GetBytes(offer.Identity), Convert.FromBase64String(offer.Key), (int)timeout.TotalMilliseconds);
            return new DtlsClientProtocol().Connect(client, transport);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
