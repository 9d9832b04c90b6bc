using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Steer.Configuration;
using Steer.Lab;
using Steer.Selection;

namespace Steer.LabTests;

/// <summary>
/// The user-space delay relay on loopback (no namespaces, no root): round trips of 2 × delay for UDP and TCP, delay
/// changes at run time, a 10 MB stream intact, and the datacenter prober and selector through relays.
/// </summary>
public sealed class DelayRelayTests(ITestOutputHelper output) : IAsyncDisposable
{
    /// <summary>How far above 2 × delay the fastest round trip of the calmest batch may be (see <see cref="BestOfAsync"/>).</summary>
    private const double ToleranceMs = 5;

    /// <summary>How far above 2 × delay the median of the calmest batch may be: other builds and tests share the 2 cores.</summary>
    private const double MedianToleranceMs = 15;

    private static long s_pingSequence;
    private readonly List<IAsyncDisposable> _owned = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }

    [Fact]
    public async Task Udp_round_trip_through_the_relay_is_twice_the_delay()
    {
        EchoServer echo = Own(new EchoServer());
        DelayRelay relay = Own(DelayRelay.Start(Options(echo.EndPoint, 20)));
        using var client = UdpClientTo(relay.EndPoint);

        (double min, double median) = await BestOfAsync(() => UdpRttAsync(client, 10), 40);

        output.WriteLine($"UDP through a 20 ms relay: min {min:0.00} ms, median {median:0.00} ms");
        Assert.InRange(min, 40 - 0.5, 40 + ToleranceMs);
        Assert.InRange(median, 40 - 0.5, 40 + MedianToleranceMs);
        Assert.Equal(1, relay.UdpSessions);
        await WaitUntilAsync(() => relay.PacketsRelayed >= 20, TimeSpan.FromSeconds(5)); // counted just after the send
    }

    [Fact]
    public async Task Tcp_round_trip_through_the_relay_is_twice_the_delay()
    {
        EchoServer echo = Own(new EchoServer());
        DelayRelay relay = Own(DelayRelay.Start(Options(echo.EndPoint, 20)));
        using Socket client = await TcpClientToAsync(relay.EndPoint);

        (double min, double median) = await BestOfAsync(() => TcpRttAsync(client, 10), 40);

        output.WriteLine($"TCP through a 20 ms relay: min {min:0.00} ms, median {median:0.00} ms");
        Assert.InRange(min, 40 - 0.5, 40 + ToleranceMs);
        Assert.InRange(median, 40 - 0.5, 40 + MedianToleranceMs);
        Assert.Equal(1, relay.TcpConnections);
    }

    [Fact]
    public async Task SetDelay_takes_effect_on_running_udp_sessions_and_tcp_connections()
    {
        EchoServer echo = Own(new EchoServer());
        DelayRelay relay = Own(DelayRelay.Start(Options(echo.EndPoint, 10)));
        using var udp = UdpClientTo(relay.EndPoint);
        using Socket tcp = await TcpClientToAsync(relay.EndPoint);

        foreach (double oneWay in new[] { 10.0, 35.0, 0.0, 15.0 })
        {
            relay.SetDelay(TimeSpan.FromMilliseconds(oneWay));
            Assert.Equal(TimeSpan.FromMilliseconds(oneWay), relay.DelayToTarget);
            (double udpMin, double udpMedian) = await BestOfAsync(() => UdpRttAsync(udp, 8), 2 * oneWay);
            (double tcpMin, double tcpMedian) = await BestOfAsync(() => TcpRttAsync(tcp, 8), 2 * oneWay);
            output.WriteLine($"one-way {oneWay} ms: UDP min {udpMin:0.00} / median {udpMedian:0.00} ms, TCP min {tcpMin:0.00} / median {tcpMedian:0.00} ms");
            Assert.InRange(udpMin, (2 * oneWay) - 0.5, (2 * oneWay) + ToleranceMs);
            Assert.InRange(tcpMin, (2 * oneWay) - 0.5, (2 * oneWay) + ToleranceMs);
            Assert.InRange(udpMedian, (2 * oneWay) - 0.5, (2 * oneWay) + MedianToleranceMs);
            Assert.InRange(tcpMedian, (2 * oneWay) - 0.5, (2 * oneWay) + MedianToleranceMs);
        }

        relay.SetDelay(TimeSpan.FromMilliseconds(30), TimeSpan.Zero);
        (double asymmetric, _) = await BestOfAsync(() => UdpRttAsync(udp, 8), 30);
        output.WriteLine($"30 ms / 0 ms: UDP min {asymmetric:0.00} ms");
        Assert.InRange(asymmetric, 30 - 0.5, 30 + ToleranceMs);
        Assert.Throws<ArgumentOutOfRangeException>(() => relay.SetDelay(TimeSpan.FromMilliseconds(-1)));
    }

    [Fact]
    public async Task Tcp_stream_of_10_MB_arrives_intact_in_both_directions()
    {
        EchoServer echo = Own(new EchoServer());
        DelayRelay relay = Own(DelayRelay.Start(Options(echo.EndPoint, 5)));
        using Socket client = await TcpClientToAsync(relay.EndPoint);
        byte[] data = RandomNumberGenerator.GetBytes(10 * 1024 * 1024);

        var watch = Stopwatch.StartNew();
        Task send = Task.Run(async () =>
        {
            for (int offset = 0; offset < data.Length; offset += 64 * 1024)
            {
                await client.SendAsync(data.AsMemory(offset, Math.Min(64 * 1024, data.Length - offset)), SocketFlags.None, Ct);
            }

            client.Shutdown(SocketShutdown.Send);
        }, Ct);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[64 * 1024];
        long received = 0;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            int n;
            while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                received += n;
            }
        }

        await send;
        watch.Stop();
        output.WriteLine($"10 MB echoed through a 5 ms relay in {watch.ElapsedMilliseconds} ms ({received * 2 / 1e6 / watch.Elapsed.TotalSeconds:0} MB/s both ways)");
        Assert.Equal(data.Length, received);
        Assert.Equal(SHA256.HashData(data), hash.GetHashAndReset());
        await WaitUntilAsync(() => relay.TcpConnections == 0, TimeSpan.FromSeconds(5)); // both halves closed: connection gone
    }

    [Fact]
    public async Task Udp_sessions_keep_clients_apart()
    {
        EchoServer echo = Own(new EchoServer());
        DelayRelay relay = Own(DelayRelay.Start(Options(echo.EndPoint, 5)));
        using var first = UdpClientTo(relay.EndPoint);
        using var second = UdpClientTo(relay.EndPoint);

        await first.SendAsync("first"u8.ToArray(), SocketFlags.None, Ct);
        await second.SendAsync("second"u8.ToArray(), SocketFlags.None, Ct);

        Assert.Equal("first"u8.ToArray(), await ReceiveAsync(first));
        Assert.Equal("second"u8.ToArray(), await ReceiveAsync(second));
        Assert.Equal(2, relay.UdpSessions);
    }

    [Fact]
    public async Task Dispose_closes_connections_and_frees_the_port()
    {
        EchoServer echo = Own(new EchoServer());
        DelayRelay relay = DelayRelay.Start(Options(echo.EndPoint, 50));
        using Socket client = await TcpClientToAsync(relay.EndPoint);
        await client.SendAsync(new byte[1000], SocketFlags.None, Ct); // still delayed when the relay stops
        IPEndPoint endPoint = relay.EndPoint;

        await relay.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15), Ct);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        int n;
        try
        {
            n = await client.ReceiveAsync(new byte[2000], SocketFlags.None, timeout.Token);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            n = 0;
        }

        Assert.Equal(0, n);
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        tcp.Bind(endPoint);
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(endPoint);
    }

    [Fact]
    public async Task Prober_through_relays_measures_the_added_latency_and_the_selector_switches_only_after_two_rounds()
    {
        // Three "datacenters": a probe echo behind a relay each, with 5, 15 and 30 ms one way.
        var relays = new List<DelayRelay>();
        var gateways = new List<GatewayEndpoint>();
        foreach ((string name, double oneWay) in new[] { ("dc-1", 5.0), ("dc-2", 15.0), ("dc-3", 30.0) })
        {
            EchoServer echo = Own(new EchoServer());
            DelayRelay relay = Own(DelayRelay.Start(Options(echo.EndPoint, oneWay)));
            relays.Add(relay);
            gateways.Add(new GatewayEndpoint
            {
                Name = name, Address = "127.0.0.1", Port = relay.EndPoint.Port,
                Pins = ["sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
            });
        }

        // The window minimum (what the selector uses) over up to 10 rounds shrugs off rounds slowed down by other builds
        // and tests on the 2 cores (the lab's parallel DTLS transfers: 5 rounds once left 65.6 ms for the 60 ms relay);
        // no sample is ever below the added latency. The loop stops at the first round where all three are in range.
        var options = new DatacenterProberOptions { TlsFallback = false };
        var measuring = new DatacenterProber(options, new ProbeHistory(new ProbeHistoryOptions { WindowRounds = 10 }));
        double[] expected = [10, 30, 60];
        IReadOnlyList<GatewayWindowStats> window = [];
        for (int round = 0; round < 10; round++)
        {
            ProbeRound measured = await measuring.ProbeAsync(gateways, cancellationToken: Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
            if (round == 0)
            {
                output.WriteLine(ProbeReportFormatter.FormatTable(ProbeReport.Create(measured, null)));
            }

            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(ProbeState.Ok, measured.Results[i].State);
                Assert.True(measured.Results[i].MinRtt!.Value.TotalMilliseconds >= expected[i] - 0.5);
            }

            window = measuring.History.GetStats(gateways);
            if (window.Select((w, i) => w.WindowMinRtt!.Value.TotalMilliseconds <= expected[i] + ToleranceMs).All(ok => ok))
            {
                break;
            }
        }

        for (int i = 0; i < 3; i++)
        {
            Assert.InRange(window[i].WindowMinRtt!.Value.TotalMilliseconds, expected[i] - 0.5, expected[i] + ToleranceMs);
        }

        var history = new ProbeHistory(new ProbeHistoryOptions { WindowRounds = 2 });
        var prober = new DatacenterProber(options, history);
        var selector = new DatacenterSelector();
        await prober.ProbeAsync(gateways, cancellationToken: Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        await prober.ProbeAsync(gateways, cancellationToken: Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);

        SelectionDecision decision = selector.Select(history.GetStats(gateways), null);
        Assert.Equal("dc-1", decision.Chosen!.Name);
        string current = decision.Chosen.Name;

        // dc-1 becomes far (45 ms one way), dc-3 near (2 ms): a switch needs the condition in two consecutive rounds
        // on the window minimum (2 rounds here).
        relays[0].SetDelay(TimeSpan.FromMilliseconds(45));
        relays[2].SetDelay(TimeSpan.FromMilliseconds(2));
        var outcomes = new List<SelectionOutcome>();
        for (int round = 0; round < 4; round++)
        {
            await prober.ProbeAsync(gateways, current, Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
            decision = selector.Select(history.GetStats(gateways), current);
            outcomes.Add(decision.Outcome);
            output.WriteLine($"round {round + 1} after the change: {decision.Outcome}: {decision.Reason}");
            current = decision.Chosen!.Name;
        }

        // Never on the first round after the change; then once, in the round where the condition has held for two
        // rounds (the second or third, depending on whether the old dc-1 sample still in the window was slowed down by load).
        Assert.Equal(SelectionOutcome.Kept, outcomes[0]);
        Assert.Single(outcomes, o => o == SelectionOutcome.Switched);
        Assert.InRange(outcomes.IndexOf(SelectionOutcome.Switched), 1, 2);
        Assert.Equal("dc-3", current);
    }

    private T Own<T>(T value)
        where T : IAsyncDisposable
    {
        _owned.Add(value);
        return value;
    }

    private static DelayRelayOptions Options(IPEndPoint target, double oneWayMs) => new()
    {
        ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        Target = target,
        DelayToTarget = TimeSpan.FromMilliseconds(oneWayMs),
        DelayToClient = TimeSpan.FromMilliseconds(oneWayMs),
    };

    private static Socket UdpClientTo(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(endPoint);
        return socket;
    }

    private static async Task<Socket> TcpClientToAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint, Ct);
        return socket;
    }

    private static async Task<byte[]> ReceiveAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        byte[] buffer = new byte[2048];
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return buffer[..n];
    }

    /// <summary>Sequential pings over a connected UDP socket; returns min and median in ms.</summary>
    private static async Task<(double Min, double Median)> UdpRttAsync(Socket socket, int count)
    {
        var rtts = new List<double>();
        byte[] buffer = new byte[64];
        for (int i = 0; i < count; i++)
        {
            long sequence = Interlocked.Increment(ref s_pingSequence); // unique across batches and tests
            byte[] ping = BitConverter.GetBytes(sequence);
            long start = Stopwatch.GetTimestamp();
            await socket.SendAsync(ping, SocketFlags.None, Ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 8 && BitConverter.ToInt64(buffer) == sequence)
                {
                    break; // a late answer of an earlier ping is skipped
                }
            }

            rtts.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return Summarize(rtts);
    }

    /// <summary>Sequential 32-byte ping-pongs over a TCP connection to an echo server; returns min and median in ms.</summary>
    private static async Task<(double Min, double Median)> TcpRttAsync(Socket socket, int count)
    {
        var rtts = new List<double>();
        byte[] ping = new byte[32];
        byte[] pong = new byte[32];
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await socket.SendAsync(ping, SocketFlags.None, Ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            int got = 0;
            while (got < pong.Length)
            {
                int n = await socket.ReceiveAsync(pong.AsMemory(got), SocketFlags.None, timeout.Token);
                Assert.True(n > 0, "the relay closed the connection");
                got += n;
            }

            rtts.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return Summarize(rtts);
    }

    /// <summary>
    /// Measures batches until one has its median within <see cref="ToleranceMs"/> of <paramref name="expectedMs"/> (at most
    /// 8), and returns the batch with the lowest median: other builds and tests share the 2 cores, and a batch they slow
    /// down says nothing about the relay. Every sample of every batch must be at least the expected round trip: the delay
    /// is always applied.
    /// </summary>
    private static async Task<(double Min, double Median)> BestOfAsync(Func<Task<(double Min, double Median)>> measure, double expectedMs)
    {
        (double Min, double Median) best = (double.MaxValue, double.MaxValue);
        for (int batch = 0; batch < 8; batch++)
        {
            (double min, double median) = await measure();
            Assert.True(min >= expectedMs - 0.5, $"a round trip of {min:0.00} ms is shorter than the {expectedMs} ms configured");
            if (median < best.Median)
            {
                best = (min, median);
            }

            if (median <= expectedMs + ToleranceMs)
            {
                break;
            }
        }

        return best;
    }

    private static (double Min, double Median) Summarize(List<double> values)
    {
        values.Sort();
        return (values[0], values[values.Count / 2]);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < timeout, "condition not met in time");
            await Task.Delay(20, Ct);
        }
    }

    /// <summary>
    /// UDP and TCP echo on one loopback port; UDP latency probes (<see cref="ProbeMessage"/>) are answered like the
    /// gateway does, everything else echoed as is.
    /// </summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly Socket _udp = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly Socket _tcp = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _udpLoop;
        private readonly Task _tcpLoop;

        public EchoServer()
        {
            _tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _tcp.Listen(16);
            EndPoint = (IPEndPoint)_tcp.LocalEndPoint!;
            _udp.Bind(EndPoint);
            _udpLoop = Task.Run(() => RunUdpAsync(_stop.Token));
            _tcpLoop = Task.Run(() => RunTcpAsync(_stop.Token));
        }

        public IPEndPoint EndPoint { get; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _udp.Dispose();
            _tcp.Dispose();
            await Task.WhenAll(_udpLoop, _tcpLoop).WaitAsync(TimeSpan.FromSeconds(5));
            _stop.Dispose();
        }

        private async Task RunUdpAsync(CancellationToken ct)
        {
            byte[] buffer = new byte[65536];
            var from = new SocketAddress(AddressFamily.InterNetwork);
            while (!ct.IsCancellationRequested)
            {
                int n;
                try
                {
                    n = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, from, ct);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException)
                {
                    continue;
                }

                ProbeMessage.TryWriteAnswer(buffer.AsSpan(0, n), buffer, out _);
                try
                {
                    _udp.SendTo(buffer.AsSpan(0, n), SocketFlags.None, from);
                }
                catch (SocketException)
                {
                }
            }
        }

        private async Task RunTcpAsync(CancellationToken ct)
        {
            var connections = new List<Task>();
            while (!ct.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _tcp.AcceptAsync(ct);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    break;
                }

                connections.Add(Task.Run(async () =>
                {
                    using (client)
                    {
                        byte[] buffer = new byte[64 * 1024];
                        try
                        {
                            int n;
                            while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
                            {
                                await client.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, ct);
                            }

                            client.Shutdown(SocketShutdown.Send);
                        }
                        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                        {
                        }
                    }
                }, CancellationToken.None));
            }

            await Task.WhenAll(connections);
        }
    }
}
