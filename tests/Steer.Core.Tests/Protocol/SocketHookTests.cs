using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Configuration;
using Steer.Protocol;
using Steer.Protocol.Dtls;
using Steer.Selection;

namespace Steer.Core.Tests.Protocol;

/// <summary>
/// The socket hooks through which the client protects its own sockets (<c>ISocketProtector.Protect</c>): the TLS
/// connector, the DTLS connector and the prober call them with each new socket before it connects. Loopback only.
/// </summary>
public sealed class SocketHookTests
{
    private static readonly ClientHello Hello = new() { Tenant = "acme", Token = "tok", DeviceId = "dev" };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TunnelConnector_configures_its_dual_mode_tcp_socket_before_connecting_with_it()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        Task<int> accepted = AcceptAndCloseAsync(listener);
        var seen = new List<SocketSnapshot>();
        int hookPort = 0;

        await Assert.ThrowsAnyAsync<Exception>(() => TunnelConnector.ConnectAsync(
            Endpoint(((IPEndPoint)listener.LocalEndPoint!).Port), Hello, TimeSpan.FromSeconds(10), NullLogger.Instance,
            socket =>
            {
                seen.Add(SocketSnapshot.Of(socket));
                socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0)); // marks the socket: the gateway sees this port
                hookPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
            },
            Ct)); // the server closes without TLS

        SocketSnapshot hooked = Assert.Single(seen);
        Assert.Equal(new SocketSnapshot(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp, DualMode: true, Connected: false), hooked);
        Assert.Equal(hookPort, await accepted.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public async Task TunnelConnector_hook_failure_ends_the_attempt_before_any_connection()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TunnelConnector.ConnectAsync(
            Endpoint(((IPEndPoint)listener.LocalEndPoint!).Port), Hello, TimeSpan.FromSeconds(10), NullLogger.Instance,
            _ => throw new InvalidOperationException("protect failed"), Ct));

        Assert.Equal("protect failed", error.Message);
        Assert.False(listener.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead), "no connection reached the listener");
    }

    [Fact]
    public async Task DtlsConnector_configures_its_udp_socket_before_sending_the_first_datagram()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var offer = new DtlsOffer { Port = ((IPEndPoint)server.LocalEndPoint!).Port, Identity = "s1", Key = Convert.ToBase64String(new byte[32]) };
        var seen = new ConcurrentQueue<SocketSnapshot>();
        int hookPort = 0;
        Task<SocketReceiveFromResult> first = server.ReceiveFromAsync(new byte[2048], new IPEndPoint(IPAddress.Any, 0), Ct).AsTask();

        // The server never answers: the handshake times out, after the ClientHello has left from the hooked socket.
        await Assert.ThrowsAnyAsync<IOException>(() => Task.Run(
            () => DtlsConnector.Connect(IPAddress.Loopback, offer, TimeSpan.FromSeconds(1), socket =>
            {
                seen.Enqueue(SocketSnapshot.Of(socket));
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                hookPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
            }),
            Ct));

        SocketSnapshot hooked = Assert.Single(seen);
        Assert.Equal(new SocketSnapshot(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp, DualMode: false, Connected: false), hooked);
        SocketReceiveFromResult hello = await first.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(hookPort, ((IPEndPoint)hello.RemoteEndPoint).Port);
    }

    [Fact]
    public async Task Prober_configures_its_udp_probe_and_tls_fallback_sockets()
    {
        int port = ClosedPort(); // UDP refused, then the TLS fallback's TCP connect refused
        var seen = new ConcurrentQueue<SocketSnapshot>();
        var prober = new DatacenterProber(new DatacenterProberOptions
        {
            SampleTimeout = TimeSpan.FromMilliseconds(500),
            TlsTimeout = TimeSpan.FromSeconds(2),
            ConfigureSocket = socket => seen.Enqueue(SocketSnapshot.Of(socket)),
        });

        ProbeRound round = await prober.ProbeAsync([Endpoint(port)], cancellationToken: Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);

        Assert.Equal(ProbeState.Unreachable, Assert.Single(round.Results).State);
        Assert.Equal(
            [
                new SocketSnapshot(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp, DualMode: false, Connected: false),
                new SocketSnapshot(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp, DualMode: false, Connected: false),
            ],
            seen.ToArray());
    }

    private static GatewayEndpoint Endpoint(int port) => new() { Name = "test", Address = "127.0.0.1", Port = port, Pins = ["sha256/" + Convert.ToBase64String(new byte[32])] };

    private static async Task<int> AcceptAndCloseAsync(Socket listener)
    {
        using Socket client = await listener.AcceptAsync(Ct);
        return ((IPEndPoint)client.RemoteEndPoint!).Port;
    }

    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private sealed record SocketSnapshot(AddressFamily Family, SocketType Type, ProtocolType Protocol, bool DualMode, bool Connected)
    {
        public static SocketSnapshot Of(Socket socket) => new(
            socket.AddressFamily,
            socket.SocketType,
            socket.ProtocolType,
            socket.AddressFamily == AddressFamily.InterNetworkV6 && socket.DualMode,
            socket.Connected);
    }
}
