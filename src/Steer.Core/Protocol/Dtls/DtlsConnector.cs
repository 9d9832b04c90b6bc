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
    /// <param name="gateway">The gateway's address.</param>
    /// <param name="offer">The DTLS offer from the Welcome (port, PSK identity and key).</param>
    /// <param name="timeout">Handshake timeout.</param>
    /// <param name="configureSocket">Called with the new UDP socket before it connects, for example
    /// <c>ISocketProtector.Protect</c>; its exceptions end the call (the socket is closed).</param>
    /// <exception cref="IOException">The handshake failed or timed out (e.g. UDP is blocked).</exception>
    public static DtlsTransport Connect(IPAddress gateway, DtlsOffer offer, TimeSpan timeout, Action<Socket>? configureSocket = null)
        => Open(gateway, offer, timeout, configureSocket).Transport;

    /// <summary>
    /// <see cref="Connect"/>, returning the datagram adapter too: the channel batches its sends through it. The socket
    /// sends with "don't fragment" and ignores the kernel's path-MTU cache (<see cref="UdpPathMtu.ProbeMode"/>), so
    /// the channel's in-band probes measure the path.
    /// </summary>
    /// <param name="gateway">The gateway's address.</param>
    /// <param name="offer">The DTLS offer from the Welcome (port, PSK identity and key).</param>
    /// <param name="timeout">Handshake timeout.</param>
    /// <param name="configureSocket">As for <see cref="Connect"/>.</param>
    /// <param name="batching">UDP batching options; null: <see cref="UdpBatchOptions.Default"/>.</param>
    /// <param name="records">Where the adapter's record guard counts dropped datagrams; null: counters of its own.</param>
    /// <exception cref="IOException">The handshake failed or timed out (e.g. UDP is blocked).</exception>
    public static DtlsConnection Open(
        IPAddress gateway, DtlsOffer offer, TimeSpan timeout, Action<Socket>? configureSocket = null, UdpBatchOptions? batching = null,
        DtlsRecordCounters? records = null)
    {
        var socket = new Socket(gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            configureSocket?.Invoke(socket);
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.SendBufferSize = 4 * 1024 * 1024;
            UdpPathMtu.ProbeMode(socket);
            socket.Connect(new IPEndPoint(gateway, offer.Port));
            var transport = new UdpDatagramTransport(socket, PathMtu, batching, new DtlsRecordGuard(records));
            var client = new SteerDtlsPeers.Client(
                SteerDtlsPeers.CreateCrypto(), Encoding.UTF8.GetBytes(offer.Identity), Convert.FromBase64String(offer.Key), (int)timeout.TotalMilliseconds);
            DtlsTransport dtls = new DtlsClientProtocol().Connect(client, transport);
            transport.Guard.MinimumProtectedBody = SteerDtlsPeers.MinimumProtectedBody(client.NegotiatedCipherSuite);
            return new DtlsConnection(dtls, transport);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A client's DTLS session and the datagram adapter under it.</summary>
/// <param name="Transport">The DTLS session.</param>
/// <param name="Udp">The UDP adapter (batching, counters).</param>
internal sealed record DtlsConnection(DtlsTransport Transport, UdpDatagramTransport Udp);
