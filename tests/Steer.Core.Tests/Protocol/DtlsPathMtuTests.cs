using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Tls;
using Steer.Protocol;
using Steer.Protocol.Dtls;

namespace Steer.Core.Tests.Protocol;

/// <summary>
/// In-band path-MTU probing and batched sending of the DTLS channel, with real BouncyCastle handshakes over loopback
/// UDP; the server's demultiplexer can play a path that drops client datagrams above a size.
/// </summary>
public sealed class DtlsPathMtuTests : IDisposable
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly Socket _server = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));
    private PeerDatagramTransport? _peer;
    private volatile int _dropAbove = int.MaxValue;
    private long _droppedBySimulatedPath;
    private Timer? _keepalives;

    public DtlsPathMtuTests()
    {
        _server.ReceiveBufferSize = 8 * 1024 * 1024;
        _server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    }

    private DtlsOffer Offer => new() { Port = ((IPEndPoint)_server.LocalEndPoint!).Port, Identity = "session-1", Key = Convert.ToBase64String(Key) };

    public void Dispose()
    {
        _keepalives?.Dispose();
        _stop.Cancel();
        _peer?.Close();
        _server.Dispose();
        _stop.Dispose();
    }

    [Fact]
    public async Task Both_sides_probe_up_to_the_session_mtu_on_a_clean_path()
    {
        (DtlsChannel client, DtlsChannel server, _, _) = await ConnectAsync();
        using (client)
        using (server)
        {
            Assert.InRange(client.PathMtu, 1280, 1400);
            await WaitUntil(() => client.PathMtu == 1400 && server.PathMtu == 1400);
            Assert.Equal(PathMtuPhase.Complete, client.PathMtuProber.Phase);
            Assert.Equal(0, client.Counters.PacketsReceived); // probes are not data
            Assert.Equal(0, server.Counters.PacketsReceived);
        }
    }

    [Fact]
    public async Task Path_that_drops_large_datagrams_settles_below_them_and_carries_packets_of_that_size()
    {
        const int udpPayloadLimit = 1360;
        _dropAbove = udpPayloadLimit;
        (DtlsChannel client, DtlsChannel server, ConcurrentQueue<byte[]> toServer, _) = await ConnectAsync();
        using (client)
        using (server)
        {
            await WaitUntil(() => client.PathMtuProber.Phase == PathMtuPhase.Complete, TimeSpan.FromSeconds(10));

            // DTLS 1.2 AEAD record: 13 header + 4 frame + packet + 16 tag (+ 8 explicit nonce with AES-GCM).
            int pathMtu = client.PathMtu;
            Assert.InRange(pathMtu, udpPayloadLimit - 41 - 8, udpPayloadLimit - 33);
            await WaitUntil(() => server.PathMtu == 1400); // the other direction is not limited
            Assert.True(Interlocked.Read(ref _droppedBySimulatedPath) > 0);

            Assert.True(client.TrySendPacket(Packet(1, pathMtu)));
            await WaitUntil(() => toServer.Count == 1);
            Assert.Equal(Packet(1, pathMtu), toServer.Single());
            Assert.True(client.IsHealthy);
        }
    }

    [Fact]
    public async Task Path_mtu_falls_back_to_1280_when_large_records_start_vanishing()
    {
        var options = new PathMtuOptions { MaxMtu = 1400, ConfirmInterval = TimeSpan.FromMilliseconds(300), ProbeTimeout = TimeSpan.FromMilliseconds(200) };
        (DtlsChannel client, DtlsChannel server, _, _) = await ConnectAsync(options);
        using (client)
        using (server)
        {
            await WaitUntil(() => client.PathMtu == 1400);

            _dropAbove = 1330; // black hole for full-size records; keepalives and small probes still pass
            await WaitUntil(() => client.PathMtuProber.BlackHoles == 1 && client.PathMtuProber.Phase == PathMtuPhase.Complete, TimeSpan.FromSeconds(10));

            Assert.InRange(client.PathMtu, 1280, 1330 - 33);
            Assert.True(client.IsHealthy, "a size black hole is not a dead channel");
        }
    }

    [Fact]
    public async Task Many_packets_queued_at_once_leave_in_batches_in_order()
    {
        (DtlsChannel client, DtlsChannel server, ConcurrentQueue<byte[]> toServer, DtlsConnection connection) = await ConnectAsync();
        using (client)
        using (server)
        {
            await WaitUntil(() => client.PathMtuProber.Phase == PathMtuPhase.Complete);
            long syscallsBefore = connection.Udp.SendBatch.Syscalls;
            long datagramsBefore = connection.Udp.SendBatch.Datagrams;
            const int count = 2000;
            for (int i = 0; i < count; i++)
            {
                Assert.True(client.TrySendPacket(Packet(i, 100 + (i % 1200))));
                if (i % 200 == 199)
                {
                    await Task.Delay(10, TestContext.Current.CancellationToken); // stay inside the socket buffers
                }
            }

            await WaitUntil(() => toServer.Count == count);
            Assert.Equal(Enumerable.Range(0, count).Select(i => Packet(i, 100 + (i % 1200))), toServer);
            long datagrams = connection.Udp.SendBatch.Datagrams - datagramsBefore;
            long syscalls = connection.Udp.SendBatch.Syscalls - syscallsBefore;
            Assert.True(datagrams >= count);
            if (connection.Udp.SendBatch.IsBatched)
            {
                Assert.True(syscalls < datagrams, $"{syscalls} sendmmsg calls for {datagrams} datagrams");
            }
        }
    }

    private async Task<(DtlsChannel Client, DtlsChannel Server, ConcurrentQueue<byte[]> ToServer, DtlsConnection Connection)> ConnectAsync(PathMtuOptions? options = null)
    {
        Task<DtlsTransport> accept = AcceptOneAsync();
        DtlsConnection connection = await Task.Run(() => DtlsConnector.Open(IPAddress.Loopback, Offer, TimeSpan.FromSeconds(10)), TestContext.Current.CancellationToken);
        DtlsTransport serverTransport = await accept;
        var toServer = new ConcurrentQueue<byte[]>();
        var client = new DtlsChannel(connection.Transport, _ => { }, 1400, "test-client", NullLogger.Instance, connection.Udp, options);
        var server = new DtlsChannel(serverTransport, p => toServer.Enqueue(p.ToArray()), 1400, "test-server", NullLogger.Instance, _peer, options);

        // As SteerClient does (every second there): the answers let each side tell "size lost" from "peer silent".
        _keepalives = new Timer(_ => client.SendKeepalive(), null, 0, 100);
        return (client, server, toServer, connection);
    }

    /// <summary>One-peer demultiplexer, as the gateway's listener does for many, that drops datagrams above <see cref="_dropAbove"/>.</summary>
    private Task<DtlsTransport> AcceptOneAsync()
    {
        var firstFrom = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            byte[] buffer = new byte[65536];
            var from = new SocketAddress(AddressFamily.InterNetwork);
            while (!_stop.IsCancellationRequested)
            {
                int n = await _server.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token);
                if (_peer is null)
                {
                    var remote = new SocketAddress(from.Family, from.Size);
                    from.Buffer.CopyTo(remote.Buffer);
                    _peer = new PeerDatagramTransport(_server, remote, 1500);
                    firstFrom.SetResult();
                }

                if (n > _dropAbove)
                {
                    Interlocked.Increment(ref _droppedBySimulatedPath);
                    continue;
                }

                _peer.Deliver(buffer.AsSpan(0, n));
            }
        });
        return Task.Run(async () =>
        {
            await firstFrom.Task;
            var server = new SteerDtlsPeers.Server(SteerDtlsPeers.CreateCrypto(),
                identity => Encoding.UTF8.GetString(identity) == "session-1" ? Key : null, 10_000);
            return new DtlsServerProtocol().Accept(server, _peer!);
        });
    }

    private static byte[] Packet(int i, int length)
    {
        byte[] p = new byte[length];
        p[0] = 0x45;
        BitConverter.TryWriteBytes(p.AsSpan(4), i);
        for (int k = 8; k < length; k++)
        {
            p[k] = (byte)((k * 31) + i);
        }

        return p;
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan? timeout = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(5);
        while (!condition() && clock.Elapsed < limit)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.True(condition(), $"condition not reached within {limit.TotalSeconds} s");
    }
}
