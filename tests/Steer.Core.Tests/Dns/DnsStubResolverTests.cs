using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Steer.DnsStub;
using Steer.Policy;

namespace Steer.Core.Tests.Dns;

/// <summary>
/// The stub on loopback between a test client and two fake upstreams: "tunnel" answers 198.51.100.x, "direct"
/// answers 203.0.113.x for the same names, so every answer shows which upstream it came from.
/// </summary>
public sealed class DnsStubResolverTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly FakeDnsServer _tunnel = new();
    private readonly FakeDnsServer _direct = new();
    private readonly List<DnsResolvedAddresses> _steered = [];
    private readonly List<DnsResolvedAddresses> _excluded = [];
    private DnsStubResolver? _stub;

    public ValueTask InitializeAsync()
    {
        foreach ((FakeDnsServer server, string prefix) in new[] { (_tunnel, "198.51.100"), (_direct, "203.0.113") })
        {
            server.Add(DnsResourceRecord.ForAddress("git.corp.test", IPAddress.Parse($"{prefix}.10"), 300))
                .Add(DnsResourceRecord.ForAddress("git.corp.test", IPAddress.Parse(prefix == "198.51.100" ? "2001:db8::10" : "2001:db8:ffff::10"), 300))
                .Add(DnsResourceRecord.ForCanonicalName("alias.corp.test", "git.corp.test", 30))
                .Add(DnsResourceRecord.ForAddress("public.corp.test", IPAddress.Parse($"{prefix}.30"), 120))
                .Add(DnsResourceRecord.ForAddress("www.public.test", IPAddress.Parse($"{prefix}.20"), 60));
            for (int i = 0; i < 40; i++)
            {
                server.Add(DnsResourceRecord.ForAddress("big.corp.test", IPAddress.Parse($"{prefix}.{100 + i}"), 300));
            }
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stub is not null)
        {
            await _stub.DisposeAsync();
        }

        await _tunnel.DisposeAsync();
        await _direct.DisposeAsync();
    }

    [Fact]
    public async Task Query_SteeredExcludedAndUnmatchedNames_GoToTheirUpstreams()
    {
        DnsStubResolver stub = await StartAsync();

        DnsMessage steered = await QueryUdpAsync(stub, "git.corp.test", DnsRecordType.A);
        DnsMessage excluded = await QueryUdpAsync(stub, "public.corp.test", DnsRecordType.A);
        DnsMessage unmatched = await QueryUdpAsync(stub, "www.public.test", DnsRecordType.A);

        Assert.Equal([IPAddress.Parse("198.51.100.10")], Addresses(steered));
        Assert.Equal([IPAddress.Parse("203.0.113.30")], Addresses(excluded));
        Assert.Equal([IPAddress.Parse("203.0.113.20")], Addresses(unmatched));
        Assert.Equal(["git.corp.test"], _tunnel.Queries.Select(q => q.Query.Questions[0].Name));
        Assert.Equal(["public.corp.test", "www.public.test"], _direct.Queries.Select(q => q.Query.Questions[0].Name));
        Assert.Equal(1, stub.Statistics.Steered);
        Assert.Equal(2, stub.Statistics.Direct);

        // Callbacks: steered answers always, excluded-by-rule answers too, unmatched names never.
        Assert.Equal(["git.corp.test"], _steered.Select(s => s.Name));
        Assert.Equal("*.corp.test", _steered[0].Rule!.Text);
        Assert.Equal(["public.corp.test"], _excluded.Select(s => s.Name));
        Assert.Equal(PolicyAction.Direct, _excluded[0].Upstream);
    }

    [Fact]
    public async Task Query_SteeredName_CallbackCompletesBeforeTheAnswerArrives()
    {
        long callbackDone = 0;
        DnsStubResolver stub = await StartAsync(onSteered: async (resolved, ct) =>
        {
            await Task.Delay(300, ct);
            Interlocked.Exchange(ref callbackDone, Stopwatch.GetTimestamp());
        });

        long sent = Stopwatch.GetTimestamp();
        DnsMessage answer = await QueryUdpAsync(stub, "git.corp.test", DnsRecordType.AAAA);
        long received = Stopwatch.GetTimestamp();

        Assert.NotEqual(0, Interlocked.Read(ref callbackDone));
        Assert.True(callbackDone < received);
        Assert.True(Stopwatch.GetElapsedTime(sent, received) >= TimeSpan.FromMilliseconds(290));
        Assert.Equal([IPAddress.Parse("2001:db8::10")], Addresses(answer));
        Assert.Equal([(IPAddress.Parse("2001:db8::10"), TimeSpan.FromSeconds(300))], _steered.Single().Addresses);
        Assert.Equal(DnsRecordType.AAAA, _steered.Single().QueryType);
    }

    [Fact]
    public async Task Query_CnameChain_CallbackGetsTheShortestTtl_ClientGetsTtlsUnchanged()
    {
        DnsStubResolver stub = await StartAsync();

        DnsMessage answer = await QueryUdpAsync(stub, "alias.corp.test", DnsRecordType.A);

        Assert.Equal([DnsRecordType.CNAME, DnsRecordType.A], answer.Answers.Select(a => a.Type));
        Assert.Equal([30u, 300u], answer.Answers.Select(a => a.TimeToLive));
        Assert.Equal([(IPAddress.Parse("198.51.100.10"), TimeSpan.FromSeconds(30))], _steered.Single().Addresses);
    }

    [Fact]
    public async Task Query_Nxdomain_PassedThroughWithAuthority_NoCallback()
    {
        DnsStubResolver stub = await StartAsync();

        DnsMessage answer = await QueryUdpAsync(stub, "missing.corp.test", DnsRecordType.A);

        Assert.Equal(DnsResponseCode.NameError, answer.ResponseCode);
        Assert.Empty(answer.Answers);
        DnsResourceRecord soa = Assert.Single(answer.Authorities);
        Assert.Equal(DnsRecordType.SOA, soa.Type);
        Assert.Equal(900u, soa.TimeToLive);
        Assert.Empty(_steered);
    }

    [Fact]
    public async Task Query_LargeAnswer_UpstreamAskedOverTcp_ClientGetsTruncatedThenFullOverTcp()
    {
        DnsStubResolver stub = await StartAsync();

        DnsMessage overUdp = await QueryUdpAsync(stub, "big.corp.test", DnsRecordType.A);
        Assert.True(overUdp.IsTruncated);
        Assert.Empty(overUdp.Answers);

        DnsMessage overTcp = await QueryTcpAsync(stub, DnsMessage.CreateQuery(77, "big.corp.test", DnsRecordType.A));
        Assert.False(overTcp.IsTruncated);
        Assert.Equal(77, overTcp.Id);
        Assert.Equal(40, overTcp.Answers.Count);

        Assert.Contains(_tunnel.Queries, q => q.Transport == "tcp");
        Assert.True(stub.Statistics.UpstreamTcpRetries >= 1);
        Assert.Equal(1, stub.Statistics.TruncatedReplies);
        Assert.Equal(1, stub.Statistics.TcpQueries);
        Assert.All(_steered, s => Assert.Equal(40, s.Addresses.Count)); // every address, even for the truncated reply
    }

    [Fact]
    public async Task Query_WithEdns_ForwardedAsIs_LargeAnswerFitsOverUdp()
    {
        DnsStubResolver stub = await StartAsync();
        DnsMessage query = DnsMessage.CreateQuery(5, "big.corp.test", DnsRecordType.A);
        query.Additionals.Add(DnsResourceRecord.ForEdns(4096, dnssecOk: true));

        DnsMessage answer = await QueryUdpAsync(stub, query);

        Assert.False(answer.IsTruncated);
        Assert.Equal(40, answer.Answers.Count);
        DnsMessage seen = Assert.Single(_tunnel.Queries).Query;
        Assert.Equal(4096, seen.Edns!.Class);
        Assert.Equal(0x8000u, seen.Edns.TimeToLive);
        Assert.True(seen.RecursionDesired);
        Assert.Equal(0, stub.Statistics.TruncatedReplies);
    }

    [Fact]
    public async Task Garbage_CountedAndIgnored_StubKeepsServing()
    {
        DnsStubResolver stub = await StartAsync();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        CancellationToken ct = TestContext.Current.CancellationToken;
        await socket.ConnectAsync(stub.LocalEndPoint, ct);
        var random = new Random(7);
        for (int i = 0; i < 50; i++)
        {
            byte[] garbage = new byte[random.Next(0, 300)];
            random.NextBytes(garbage);
            if (garbage.Length >= 12)
            {
                garbage[4] = 0xFF; // a question count no datagram can hold: never a valid message by chance
            }

            await socket.SendAsync(garbage, SocketFlags.None, ct);
        }

        DnsMessage response = DnsMessage.CreateQuery(1, "git.corp.test", DnsRecordType.A);
        response.IsResponse = true;
        await socket.SendAsync(response.ToArray(), SocketFlags.None, ct);

        using (var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await socket.ReceiveAsync(new byte[512], SocketFlags.None, quiet.Token));
        }

        Assert.Equal(51, stub.Statistics.Malformed);
        Assert.Equal([IPAddress.Parse("198.51.100.10")], Addresses(await QueryUdpAsync(stub, "git.corp.test", DnsRecordType.A)));
        Assert.DoesNotContain(_tunnel.Queries, q => q.Query.IsResponse);

        // Garbage over TCP: the connection is closed, the stub goes on.
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await tcp.ConnectAsync(stub.LocalEndPoint, ct);
        await TcpDns.WriteAsync(tcp, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], ct);
        Assert.Null(await TcpDns.ReadAsync(tcp, new CancellationTokenSource(Timeout).Token));
        Assert.Equal(52, stub.Statistics.Malformed);
        Assert.Equal([IPAddress.Parse("198.51.100.10")], Addresses(await QueryUdpAsync(stub, "git.corp.test", DnsRecordType.A)));
    }

    [Fact]
    public async Task Upstream_Silent_ServfailAfterRetries()
    {
        _tunnel.Silent = true;
        DnsStubResolver stub = await StartAsync(configure: o => o.UpstreamTimeout = TimeSpan.FromMilliseconds(200));

        DnsMessage answer = await QueryUdpAsync(stub, "git.corp.test", DnsRecordType.A);

        Assert.Equal(DnsResponseCode.ServerFailure, answer.ResponseCode);
        Assert.Equal(2, _tunnel.Queries.Count);
        Assert.Equal(2, stub.Statistics.UpstreamTimeouts);
        Assert.Equal(1, stub.Statistics.UpstreamFailures);
        Assert.Empty(_steered);
    }

    [Fact]
    public async Task Callback_Fails_Servfail()
    {
        DnsStubResolver stub = await StartAsync(onSteered: (_, _) => throw new InvalidOperationException("no route for you"));

        DnsMessage answer = await QueryUdpAsync(stub, "git.corp.test", DnsRecordType.A);

        Assert.Equal(DnsResponseCode.ServerFailure, answer.ResponseCode);
        Assert.Empty(answer.Answers);
        Assert.Equal(1, stub.Statistics.CallbackFailures);
    }

    [Fact]
    public async Task Callback_TooSlow_Servfail()
    {
        DnsStubResolver stub = await StartAsync(
            onSteered: async (_, _) => await Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None),
            configure: o => o.CallbackTimeout = TimeSpan.FromMilliseconds(200));

        DnsMessage answer = await QueryUdpAsync(stub, "git.corp.test", DnsRecordType.A);

        Assert.Equal(DnsResponseCode.ServerFailure, answer.ResponseCode);
        Assert.Equal(1, stub.Statistics.CallbackFailures);
    }

    [Fact]
    public async Task Query_NotAStandardQuery_NotImplemented_TwoQuestions_FormatError()
    {
        DnsStubResolver stub = await StartAsync();
        DnsMessage notify = DnsMessage.CreateQuery(3, "corp.test", DnsRecordType.SOA);
        notify.Opcode = 4;
        DnsMessage two = DnsMessage.CreateQuery(4, "a.corp.test", DnsRecordType.A);
        two.Questions.Add(new DnsQuestion("b.corp.test", DnsRecordType.A));

        Assert.Equal(DnsResponseCode.NotImplemented, (await QueryUdpAsync(stub, notify)).ResponseCode);
        Assert.Equal(DnsResponseCode.FormatError, (await QueryUdpAsync(stub, two)).ResponseCode);
        Assert.Empty(_tunnel.Queries);
    }

    [Fact]
    public async Task Query_ModeAllDefault_UnmatchedNamesThroughTheTunnel()
    {
        DnsStubResolver stub = await StartAsync(configure: o => o.UnmatchedNames = PolicyAction.Tunnel);

        DnsMessage answer = await QueryUdpAsync(stub, "www.public.test", DnsRecordType.A);

        Assert.Equal([IPAddress.Parse("198.51.100.20")], Addresses(answer));
        Assert.Empty(_direct.Queries);
        Assert.Null(_steered.Single().Rule);
    }

    private async Task<DnsStubResolver> StartAsync(
        Func<DnsResolvedAddresses, CancellationToken, ValueTask>? onSteered = null, Action<DnsStubResolverOptions>? configure = null)
    {
        var options = new DnsStubResolverOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            TunnelUpstream = _tunnel.EndPoint,
            DirectUpstream = _direct.EndPoint,
            Matcher = new DomainMatcher([PolicyRule.Parse("*.corp.test", PolicyRuleKind.Include), PolicyRule.Parse("public.corp.test", PolicyRuleKind.Exclude)]),
            UnmatchedNames = PolicyAction.Direct,
            OnSteeredAnswer = async (resolved, ct) =>
            {
                if (onSteered is not null)
                {
                    await onSteered(resolved, ct);
                }

                lock (_steered)
                {
                    _steered.Add(resolved);
                }
            },
            OnExcludedAnswer = (resolved, _) =>
            {
                lock (_excluded)
                {
                    _excluded.Add(resolved);
                }

                return ValueTask.CompletedTask;
            },
        };
        configure?.Invoke(options);
        _stub = await DnsStubResolver.StartAsync(options, cancellationToken: TestContext.Current.CancellationToken);
        return _stub;
    }

    private static IPAddress[] Addresses(DnsMessage answer) =>
        [.. answer.Answers.Select(a => a.TryGetAddress(out IPAddress? address) ? address : null).OfType<IPAddress>()];

    private static Task<DnsMessage> QueryUdpAsync(DnsStubResolver stub, string name, DnsRecordType type) =>
        QueryUdpAsync(stub, DnsMessage.CreateQuery((ushort)Random.Shared.Next(65536), name, type));

    private static async Task<DnsMessage> QueryUdpAsync(DnsStubResolver stub, DnsMessage query)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(stub.LocalEndPoint, timeout.Token);
        await socket.SendAsync(query.ToArray(), SocketFlags.None, timeout.Token);
        byte[] buffer = new byte[65535];
        int received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        Assert.True(DnsMessage.TryParse(buffer.AsSpan(0, received), out DnsMessage? answer, out string error), error);
        Assert.Equal(query.Id, answer.Id);
        Assert.True(answer.IsResponse);
        return answer;
    }

    private static async Task<DnsMessage> QueryTcpAsync(DnsStubResolver stub, DnsMessage query)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(stub.LocalEndPoint, timeout.Token);
        await TcpDns.WriteAsync(socket, query.ToArray(), timeout.Token);
        byte[]? wire = await TcpDns.ReadAsync(socket, timeout.Token);
        Assert.NotNull(wire);
        Assert.True(DnsMessage.TryParse(wire, out DnsMessage? answer, out string error), error);
        return answer;
    }
}
