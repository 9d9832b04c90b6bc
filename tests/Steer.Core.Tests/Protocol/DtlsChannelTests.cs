using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Tls;
using Steer.Protocol;
using Steer.Protocol.Dtls;

namespace Steer.Core.Tests.Protocol;

/// <summary>The DTLS data channel with real BouncyCastle handshakes over loopback UDP.</summary>
public sealed class DtlsChannelTests : IDisposable
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly Socket _server = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));
    private readonly ConcurrentQueue<byte[]> _seenByServer = new();
    private PeerDatagramTransport? _peer;

    private readonly ITestOutputHelper _output;

    public DtlsChannelTests(ITestOutputHelper output)
    {
        _output = output;
        _server.ReceiveBufferSize = 8 * 1024 * 1024;
        _server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    }

    private int Port => ((IPEndPoint)_server.LocalEndPoint!).Port;

    public void Dispose()
    {
        _stop.Cancel();
        _peer?.Close();
        _server.Dispose();
        _stop.Dispose();
    }

    /// <summary>Minimal one-peer demultiplexer, as the gateway's listener does for many.</summary>
    private Task<DtlsTransport> AcceptOneAsync(byte[] serverKey)
    {
        var firstFrom = new TaskCompletionSource<SocketAddress>(TaskCreationOptions.RunContinuationsAsynchronously);
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
                    firstFrom.SetResult(remote);
                }

                _seenByServer.Enqueue(buffer[..n]);
                _peer.Deliver(buffer.AsSpan(0, n));
            }
        });
        return Task.Run(async () =>
        {
            await firstFrom.Task;
            var server = new SteerDtlsPeers.Server(SteerDtlsPeers.CreateCrypto(),
                identity => Encoding.UTF8.GetString(identity) == "session-1" ? serverKey : null, 10_000);
            DtlsTransport transport = new DtlsServerProtocol().Accept(server, _peer!);
            _peer!.Guard.MinimumProtectedBody = SteerDtlsPeers.MinimumProtectedBody(server.NegotiatedCipherSuite); // as the gateway does
            return transport;
        });
    }

    private DtlsOffer Offer => new() { Port = Port, Identity = "session-1", Key = Convert.ToBase64String(Key) };

    [Fact]
    public async Task Carries_packets_both_ways_over_a_psk_handshake()
    {
        Task<DtlsTransport> accept = AcceptOneAsync(Key);
        DtlsTransport clientTransport = await Task.Run(() => DtlsConnector.Connect(IPAddress.Loopback, Offer, TimeSpan.FromSeconds(10)), TestContext.Current.CancellationToken);
        DtlsTransport serverTransport = await accept;
        var toServer = new ConcurrentQueue<byte[]>();
        var toClient = new ConcurrentQueue<byte[]>();
        using var client = new DtlsChannel(clientTransport, p => toClient.Enqueue(p.ToArray()), 1400, "test-client", NullLogger.Instance);
        using var server = new DtlsChannel(serverTransport, p => toServer.Enqueue(p.ToArray()), 1400, "test-server", NullLogger.Instance);

        const int count = 500;
        for (int i = 0; i < count; i++)
        {
            Assert.True(client.TrySendPacket(Packet(i, 40 + (i * 7 % 1360))));
            Assert.True(server.TrySendPacket(Packet(i, 1400 - (i * 7 % 1360))));
            if (i % 50 == 0)
            {
                await Task.Delay(5, TestContext.Current.CancellationToken); // stay well inside the socket buffers
            }
        }

        await WaitUntil(() => toServer.Count == count && toClient.Count == count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => Packet(i, 40 + (i * 7 % 1360))), toServer);
        Assert.Equal(Enumerable.Range(0, count).Select(i => Packet(i, 1400 - (i * 7 % 1360))), toClient);
        Assert.False(client.TrySendPacket(new byte[1401]), "packets above the session MTU are refused");

        client.SendKeepalive();
        await WaitUntil(() => client.KeepalivesAnswered > 0);
        Assert.True(client.IsHealthy);
    }

    [Fact]
    public async Task Garbage_and_replayed_datagrams_are_dropped_without_ending_the_channel()
    {
        Task<DtlsTransport> accept = AcceptOneAsync(Key);
        DtlsTransport clientTransport = await Task.Run(() => DtlsConnector.Connect(IPAddress.Loopback, Offer, TimeSpan.FromSeconds(10)), TestContext.Current.CancellationToken);
        DtlsTransport serverTransport = await accept;
        var toServer = new ConcurrentQueue<byte[]>();
        using var client = new DtlsChannel(clientTransport, _ => { }, 1400, "test-client", NullLogger.Instance);
        using var server = new DtlsChannel(serverTransport, p => toServer.Enqueue(p.ToArray()), 1400, "test-server", NullLogger.Instance, guard: _peer!.Guard);

        for (int i = 0; i < 100; i++)
        {
            client.TrySendPacket(Packet(i, 200));
        }

        await WaitUntil(() => toServer.Count == 100);
        byte[][] recorded = _seenByServer.ToArray();

        // Replay every datagram the server ever saw (handshake and data), then garbage, including records that
        // look like DTLS application data with a plausible header.
        foreach (byte[] datagram in recorded)
        {
            _peer!.Deliver(datagram);
        }

        // A well-formed application-data record too short for AES-GCM's nonce and tag: BouncyCastle would answer it
        // with a fatal decode_error and end the session.
        byte[] shortRecord = new byte[13 + 20];
        shortRecord[0] = 23;
        shortRecord[1] = 254;
        shortRecord[2] = 253;
        shortRecord[4] = 1;
        shortRecord[5] = 0x7F;
        shortRecord[12] = 20;
        _peer!.Deliver(shortRecord);

        var random = new Random(1234);
        for (int i = 0; i < 300; i++)
        {
            byte[] garbage = new byte[random.Next(1, 1500)];
            random.NextBytes(garbage);
            if (i % 2 == 0 && garbage.Length > 13)
            {
                garbage[0] = 23;   // application_data
                garbage[1] = 254;  // DTLS 1.2
                garbage[2] = 253;
                garbage[3] = 0;    // epoch 1
                garbage[4] = 1;
                garbage[5] = 0x7F; // a sequence number far ahead of the real ones
                if (i % 4 == 0)
                {
                    garbage[11] = (byte)((garbage.Length - 13) >> 8); // a record length that fits: only the MAC tells
                    garbage[12] = (byte)(garbage.Length - 13);
                }
            }

            _peer!.Deliver(garbage);
        }

        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.Equal(100, toServer.Count);
        Assert.False(server.IsClosed);

        // Every replayed data record was caught by the window (the handshake's were left to BouncyCastle), the
        // plausible-looking garbage failed authentication, and the rest was no DTLS record at all.
        DtlsRecordCounters counters = _peer!.Guard.Counters;
        int replayedData = recorded.Count(d => d.Length > 13 && d[0] == 23 && (d[3] | d[4]) != 0);
        Assert.True(replayedData >= 100, $"{replayedData} application-data datagrams recorded");
        Assert.Equal(replayedData, counters.ReplayedDropped);
        _output.WriteLine($"garbage {counters.GarbageDropped}, rejected {counters.RejectedDropped}, replayed {counters.ReplayedDropped}, minimum {_peer.Guard.MinimumProtectedBody}, closed {server.IsClosed}");
        await WaitUntil(() => counters.GarbageDropped + counters.RejectedDropped == 301);
        // The well-formed forgeries (every 4th of 300, body long enough for AES-GCM) failed authentication; shorter ones,
        // which would have made BouncyCastle end the session, were dropped as garbage before it saw them.
        Assert.InRange(counters.RejectedDropped, 60, 75);

        // And it still works.
        client.TrySendPacket(Packet(1000, 300));
        await WaitUntil(() => toServer.Count == 101);
        Assert.Equal(Packet(1000, 300), toServer.Last());
    }

    [Fact]
    public async Task Wrong_key_fails_the_handshake()
    {
        Task<DtlsTransport> accept = AcceptOneAsync(Enumerable.Repeat((byte)7, 32).ToArray());

        await Assert.ThrowsAnyAsync<IOException>(() => Task.Run(() => DtlsConnector.Connect(IPAddress.Loopback, Offer, TimeSpan.FromSeconds(5)), TestContext.Current.CancellationToken));
        await Assert.ThrowsAnyAsync<IOException>(() => accept);
    }

    [Fact]
    public async Task Silent_path_makes_the_channel_unhealthy_within_three_seconds()
    {
        Task<DtlsTransport> accept = AcceptOneAsync(Key);
        DtlsTransport clientTransport = await Task.Run(() => DtlsConnector.Connect(IPAddress.Loopback, Offer, TimeSpan.FromSeconds(10)), TestContext.Current.CancellationToken);
        _ = await accept; // the server never answers anything from now on
        using var client = new DtlsChannel(clientTransport, _ => { }, 1400, "test-client", NullLogger.Instance);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await WaitUntil(() => !client.IsHealthy);

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3.5));
        Assert.False(client.IsClosed, "an unhealthy channel stays open, ready to come back");
    }

    private static byte[] Packet(int i, int length)
    {
        byte[] p = new byte[length];
        p[0] = 0x45;
        BitConverter.TryWriteBytes(p.AsSpan(4), i);
        for (int k = 8; k < length; k++)
        {
            p[k] = (byte)(k * 31 + i);
        }

        return p;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25, TestContext.Current.CancellationToken);
        }

        Assert.True(condition(), "condition not reached within 5 s");
    }
}
