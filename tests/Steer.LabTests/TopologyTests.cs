using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Steer.Lab;
using Xunit;

namespace Steer.LabTests;

/// <summary>
/// The lab itself: topology, reachability, <see cref="LabProcess"/>, <see cref="WhoAmIServer"/> (in the internet
/// namespace through <c>steer lab http-server</c>, and in-process on loopback) and cleanup.
/// </summary>
[Collection(LabFixtureCollection.Name)]
[Trait("Category", "RequiresElevation")]
public sealed class TopologyTests(LabFixture fixture)
{
    private const int TestTimeoutMs = 120_000;
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact(Timeout = TestTimeoutMs)]
    public async Task CreateAsync_DefaultAddresses_ExposesNamesAndAddresses()
    {
        fixture.SkipIfUnavailable();
        LabTopology lab = fixture.Lab;

        Assert.Equal(fixture.Prefix + "client", lab.ClientNamespace);
        Assert.Equal(fixture.Prefix + "gw", lab.GatewayNamespace);
        Assert.Equal(fixture.Prefix + "inet", lab.InetNamespace);
        Assert.Equal(IPAddress.Parse("198.18.1.2"), lab.ClientAddress);
        Assert.Equal(IPAddress.Parse("198.18.1.1"), lab.GatewayAddress);
        Assert.Equal(IPAddress.Parse("198.18.2.1"), lab.GatewayInetAddress);
        Assert.Equal(IPAddress.Parse("198.18.2.2"), lab.InetAddress);
        Assert.Equal(IPAddress.Parse("fd53:7ee7:1::2"), lab.ClientAddressV6);
        Assert.Equal(IPAddress.Parse("fd53:7ee7:2::2"), lab.InetAddressV6);
        Assert.Equal(
            new[] { lab.ClientNamespace, lab.GatewayNamespace, lab.InetNamespace }.Order(StringComparer.Ordinal),
            LabTopology.ListNamespaces(fixture.Prefix));

        // Fixed interface names inside each namespace; no IPv6 address left tentative.
        string clientLinks = (await RunAsync(null, "ip", ["-n", lab.ClientNamespace, "-o", "addr", "show", "dev", "c0"])).StandardOutput;
        Assert.Contains("198.18.1.2/24", clientLinks, StringComparison.Ordinal);
        Assert.Contains("fd53:7ee7:1::2/64", clientLinks, StringComparison.Ordinal);
        Assert.DoesNotContain("tentative", clientLinks, StringComparison.Ordinal);
        string gatewayLinks = (await RunAsync(null, "ip", ["-n", lab.GatewayNamespace, "-o", "addr", "show"])).StandardOutput;
        Assert.Contains("g0", gatewayLinks, StringComparison.Ordinal);
        Assert.Contains("198.18.2.1/24", gatewayLinks, StringComparison.Ordinal);
        Assert.Equal("up", (await RunAsync(lab.InetNamespace, "cat", ["/sys/class/net/i0/operstate"])).StandardOutput.Trim());
        string loopback = (await RunAsync(null, "ip", ["-n", lab.ClientNamespace, "-o", "link", "show", "dev", "lo"])).StandardOutput;
        Assert.Contains("LOOPBACK,UP", loopback, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Client_Ping_ReachesGateway()
    {
        fixture.SkipIfUnavailable();
        LabTopology lab = fixture.Lab;
        if (LabPrerequisites.FindExecutable("ping") is null)
        {
            Assert.Skip("ping is not installed (iputils-ping); Client_Tcp_ReachesGatewayAndGatewaySeesClientAddress covers reachability");
        }

        await RunCheckedAsync(lab.ClientNamespace, "ping", ["-n", "-c", "1", "-W", "2", lab.GatewayAddress.ToString()]);
        await RunCheckedAsync(lab.ClientNamespace, "ping", ["-n", "-6", "-c", "1", "-W", "2", lab.GatewayAddressV6!.ToString()]);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Client_Tcp_ReachesGatewayAndGatewaySeesClientAddress()
    {
        fixture.SkipIfUnavailable();
        LabTopology lab = fixture.Lab;

        // A TCP listener in the gateway namespace (steer's http server), reached from the client over IPv4 and IPv6.
        await using LabProcess server = StartHttpServer(lab.GatewayNamespace, "::", 8080);
        string v4 = await WaitForHttpAsync(server, lab.ClientNamespace, $"http://{lab.GatewayAddress}:8080/whoami");
        Assert.Equal($"you are {lab.ClientAddress}\n", v4);
        string v6 = await WaitForHttpAsync(server, lab.ClientNamespace, $"http://[{lab.GatewayAddressV6}]:8080/whoami");
        Assert.Equal($"you are {lab.ClientAddressV6}\n", v6);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Client_WithoutSteer_CannotReachInet()
    {
        fixture.SkipIfUnavailable();
        LabTopology lab = fixture.Lab;

        // Only the connected routes: nothing towards the internet link, no default route.
        string routes = (await RunCheckedAsync(null, "ip", ["-n", lab.ClientNamespace, "-4", "route", "show"])).StandardOutput;
        Assert.Equal("198.18.1.0/24 dev c0 proto kernel scope link src 198.18.1.2", routes.Trim());
        LabCommandResult routeV4 = await RunAsync(null, "ip", ["-n", lab.ClientNamespace, "route", "get", lab.InetAddress.ToString()]);
        Assert.False(routeV4.Succeeded, routeV4.ToString());
        Assert.Contains("unreachable", routeV4.StandardError, StringComparison.OrdinalIgnoreCase);
        LabCommandResult routeV6 = await RunAsync(null, "ip", ["-n", lab.ClientNamespace, "-6", "route", "get", lab.InetAddressV6!.ToString()]);
        Assert.False(routeV6.Succeeded, routeV6.ToString());

        // A real connection attempt fails at once (no route), with or without a server there.
        await using LabProcess server = StartHttpServer(lab.InetNamespace, lab.InetAddress.ToString(), 80);
        await WaitForHttpAsync(server, lab.GatewayNamespace, $"http://{lab.InetAddress}/whoami");
        LabCommandResult curl = await RunAsync(lab.ClientNamespace, "curl", ["-sS", "--max-time", "5", $"http://{lab.InetAddress}/whoami"]);
        Assert.Equal(7, curl.ExitCode); // CURLE_COULDNT_CONNECT
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task WhoAmIServer_InInetNamespace_SeesGatewayAddressAndServesBytes()
    {
        fixture.SkipIfUnavailable();
        LabTopology lab = fixture.Lab;

        await using LabProcess server = StartHttpServer(lab.InetNamespace, "::", LabNames.HttpPort);
        string v4 = await WaitForHttpAsync(server, lab.GatewayNamespace, $"http://{lab.InetAddress}/whoami");
        Assert.Equal($"you are {lab.GatewayInetAddress}\n", v4);
        string v6 = await WaitForHttpAsync(server, lab.GatewayNamespace, $"http://[{lab.InetAddressV6}]/whoami");
        Assert.Equal($"you are {lab.GatewayInetAddressV6}\n", v6);

        const long length = 3 * 1024 * 1024 + 12345;
        string expected = WhoAmIServer.ComputePatternSha256(length, Token);
        LabCommandResult download = await RunCheckedAsync(
            lab.GatewayNamespace,
            "sh",
            ["-c", $"curl -sS --fail --max-time 30 -D /dev/stderr 'http://{lab.InetAddress}/bytes?n={length}' | sha256sum"]);
        Assert.StartsWith(expected + " ", download.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"{WhoAmIServer.Sha256HeaderName}: {expected}", download.StandardError, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"Content-Length: {length}", download.StandardError, StringComparison.OrdinalIgnoreCase);

        // Stops on SIGINT like a user's Ctrl+C.
        int exitCode = await server.StopAsync(TimeSpan.FromSeconds(10), Token);
        Assert.True(exitCode is 0 or 130, $"http-server exited with {exitCode}:\n{server.GetOutput()}");
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task LabProcess_InNamespace_PidIsTheCommandAndSignalsReachIt()
    {
        fixture.SkipIfUnavailable();
        LabTopology lab = fixture.Lab;

        await using LabProcess process = LabProcess.Start(
            lab.GatewayNamespace, "sh", ["-c", "echo hello; echo ready >&2; exec sleep 60"]);
        Assert.Equal("ready", await process.WaitForLineAsync(line => line == "ready", TimeSpan.FromSeconds(10), Token));
        Assert.Equal("hello", await process.WaitForLineAsync(line => line.StartsWith("hel", StringComparison.Ordinal), TimeSpan.FromSeconds(1), Token));

        // `ip netns exec` execs in place: the pid is the command's, and it lives in the gateway namespace.
        await WaitUntilAsync(() => File.ReadAllText($"/proc/{process.Id}/comm").Trim() == "sleep", TimeSpan.FromSeconds(10));
        Assert.NotEqual(
            File.ResolveLinkTarget("/proc/self/ns/net", returnFinalTarget: false)!.FullName,
            File.ResolveLinkTarget($"/proc/{process.Id}/ns/net", returnFinalTarget: false)!.FullName);

        Assert.True(process.Terminate());
        int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(10), Token);
        Assert.Equal(128 + 15, exitCode);
        Assert.False(process.Terminate());
        await Assert.ThrowsAsync<LabException>(() => process.WaitForLineAsync(line => line == "never", TimeSpan.FromSeconds(5), Token));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task LabProcess_Interrupt_StopsTheCommand()
    {
        fixture.SkipIfUnavailable();

        // Works even when this test host inherited an ignored SIGINT (a background job of a script): LabProcess
        // restores the default disposition for the child.
        await using LabProcess process = LabProcess.Start(fixture.Lab.ClientNamespace, "sleep", ["60"]);
        await WaitUntilAsync(() => File.ReadAllText($"/proc/{process.Id}/comm").Trim() == "sleep", TimeSpan.FromSeconds(10));
        Assert.Equal("0", (await File.ReadAllLinesAsync($"/proc/{process.Id}/status", Token))
            .Single(line => line.StartsWith("SigIgn:", StringComparison.Ordinal))
            .Split(':')[1].Trim() is var mask && (Convert.ToUInt64(mask, 16) & 0b10) == 0 ? "0" : $"SIGINT ignored: {mask}");
        Assert.True(process.Interrupt());
        Assert.Equal(128 + 2, await process.WaitForExitAsync(TimeSpan.FromSeconds(10), Token));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task LabProcess_NoMatchingLine_TimesOutWithOutput()
    {
        fixture.SkipIfUnavailable();
        await using LabProcess process = LabProcess.Start(
            fixture.Lab.InetNamespace, "sh", ["-c", "echo something else; exec sleep 60"], new LabProcessOptions { MaxLogLines = 10 });
        TimeoutException ex = await Assert.ThrowsAsync<TimeoutException>(
            () => process.WaitForLineAsync(line => line == "never", TimeSpan.FromMilliseconds(500), Token));
        Assert.Contains("something else", ex.Message, StringComparison.Ordinal);
        int exitCode = await process.StopAsync(TimeSpan.FromSeconds(5), Token);
        Assert.NotEqual(0, exitCode);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task DisposeAsync_RemovesNamespacesKillsProcessesAndIsIdempotent()
    {
        fixture.SkipIfUnavailable();
        string prefix = LabFixture.NewPrefix();
        LabTopology lab = await LabTopology.CreateAsync(new LabTopologyOptions { Prefix = prefix, EnableIPv6 = false }, cancellationToken: Token);
        LabProcess orphan;
        try
        {
            Assert.Equal(3, LabTopology.ListNamespaces(prefix).Count);
            Assert.Null(lab.InetAddressV6);
            orphan = LabProcess.Start(lab.InetNamespace, "sleep", ["60"]);
        }
        finally
        {
            await lab.DisposeAsync();
        }

        await using (orphan)
        {
            Assert.Empty(LabTopology.ListNamespaces(prefix));
            await orphan.WaitForExitAsync(TimeSpan.FromSeconds(10), Token);
        }

        await lab.DisposeAsync();
        Assert.Equal(0, await LabTopology.CleanupStaleAsync(prefix, cancellationToken: Token));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task CreateAsync_Cancelled_LeavesNothingBehind()
    {
        fixture.SkipIfUnavailable();
        foreach (int delayMs in new[] { 0, 15, 40, 80, 150, 300 })
        {
            string prefix = LabFixture.NewPrefix();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
            cts.CancelAfter(delayMs);
            try
            {
                LabTopology lab = await LabTopology.CreateAsync(new LabTopologyOptions { Prefix = prefix }, cancellationToken: cts.Token);
                await lab.DisposeAsync();
            }
            catch (OperationCanceledException) when (!Token.IsCancellationRequested)
            {
                // Expected for the short delays: creation was all-or-nothing.
            }

            Assert.Empty(LabTopology.ListNamespaces(prefix));
        }
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task CreateAsync_NamespaceAlreadyExists_FailsWithoutTouchingIt()
    {
        fixture.SkipIfUnavailable();
        string prefix = LabFixture.NewPrefix();
        await RunCheckedAsync(null, "ip", ["netns", "add", prefix + "inet"]);
        try
        {
            LabException ex = await Assert.ThrowsAsync<LabException>(
                () => LabTopology.CreateAsync(new LabTopologyOptions { Prefix = prefix }, cancellationToken: Token));
            Assert.Contains("already exists", ex.Message, StringComparison.Ordinal);
            Assert.Equal([prefix + "inet"], LabTopology.ListNamespaces(prefix));
        }
        finally
        {
            Assert.Equal(1, await LabTopology.CleanupStaleAsync(prefix, cancellationToken: Token));
        }

        Assert.Empty(LabTopology.ListNamespaces(prefix));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task WhoAmIServer_Loopback_AnswersEndpoints()
    {
        await using WhoAmIServer server = WhoAmIServer.Start(IPAddress.Loopback, 0);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.LocalEndPoint}"), Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal("you are 127.0.0.1\n", await http.GetStringAsync("/whoami", Token));

        using HttpResponseMessage bytes = await http.GetAsync("/bytes?n=200001", Token);
        Assert.Equal(HttpStatusCode.OK, bytes.StatusCode);
        byte[] body = await bytes.Content.ReadAsByteArrayAsync(Token);
        byte[] expected = new byte[200001];
        WhoAmIServer.FillPattern(0, expected);
        Assert.Equal(expected, body);
        Assert.Equal(
            Convert.ToHexStringLower(SHA256.HashData(body)),
            Assert.Single(bytes.Headers.GetValues(WhoAmIServer.Sha256HeaderName)));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), WhoAmIServer.ComputePatternSha256(body.Length, Token));

        Assert.Empty(await http.GetByteArrayAsync("/bytes?n=0", Token));

        using var capped = new HttpRequestMessage(HttpMethod.Head, "/bytes?n=99999999999999999999999");
        using HttpResponseMessage cappedResponse = await http.SendAsync(capped, Token);
        Assert.Equal(WhoAmIServer.MaxBytes, cappedResponse.Content.Headers.ContentLength);

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/nope", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/bytes?n=-1", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/bytes", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync("/whoami", new StringContent("x"), Token)).StatusCode);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task WhoAmIServer_GarbageAndConcurrentClients_AnswersAllAndKeepsServing()
    {
        await using WhoAmIServer server = WhoAmIServer.Start(IPAddress.Loopback, 0);

        Assert.StartsWith("HTTP/1.1 400 ", await RawRequestAsync(server.LocalEndPoint, [0x00, 0x01, 0xff, (byte)'\r', (byte)'\n', (byte)'\r', (byte)'\n']));
        Assert.StartsWith("HTTP/1.1 400 ", await RawRequestAsync(server.LocalEndPoint, "GET  HTTP/1.1\r\n\r\n"u8.ToArray()));
        Assert.StartsWith("HTTP/1.1 400 ", await RawRequestAsync(server.LocalEndPoint, "GET /whoami HTTP/1.1\r\nno colon\r\n\r\n"u8.ToArray()));
        Assert.StartsWith("HTTP/1.1 505 ", await RawRequestAsync(server.LocalEndPoint, "GET /whoami HTTP/2.0\r\n\r\n"u8.ToArray()));
        Assert.StartsWith("HTTP/1.1 431 ", await RawRequestAsync(server.LocalEndPoint, Encoding.ASCII.GetBytes("GET /" + new string('a', 9000))));
        Assert.StartsWith("HTTP/1.1 400 ", await RawRequestAsync(server.LocalEndPoint, "GET /whoami"u8.ToArray()));
        Assert.Equal(string.Empty, await RawRequestAsync(server.LocalEndPoint, []));
        Assert.EndsWith("\r\n\r\nyou are 127.0.0.1\n", await RawRequestAsync(server.LocalEndPoint, "GET /whoami HTTP/1.0\n\n"u8.ToArray()));

        Task<string>[] clients = Enumerable.Range(0, 64)
            .Select(_ => RawRequestAsync(server.LocalEndPoint, "GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray()))
            .ToArray();
        foreach (string response in await Task.WhenAll(clients))
        {
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", response);
            Assert.EndsWith("you are 127.0.0.1\n", response);
        }
    }

    private static LabProcess StartHttpServer(string ns, string bind, int port)
    {
        SteerExecutable steer = SteerExecutable.Resolve();
        return LabProcess.Start(
            ns,
            steer.FileName,
            steer.GetArguments("lab", "http-server", "--bind", bind, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new LabProcessOptions { Name = $"http-server@{ns}" });
    }

    /// <summary>Polls the URL with curl from <paramref name="ns"/> until it answers (at most 75 tries in 15 s).</summary>
    private static async Task<string> WaitForHttpAsync(LabProcess server, string ns, string url)
    {
        LabCommandResult? last = null;
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        for (int attempt = 0; attempt < 75 && DateTime.UtcNow < deadline; attempt++)
        {
            Assert.False(server.HasExited, $"{server} exited:\n{server.GetOutput()}");
            last = await RunAsync(ns, "curl", ["-sS", "-g", "--fail", "--max-time", "5", url]);
            if (last.Succeeded)
            {
                return last.StandardOutput;
            }

            await Task.Delay(200, Token);
        }

        Assert.Fail($"{url} did not answer from {ns}: {last}\nserver output:\n{server.GetOutput()}");
        return string.Empty;
    }

    private static async Task<string> RawRequestAsync(IPEndPoint endPoint, byte[] request)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        await socket.ConnectAsync(endPoint, timeout.Token);
        if (request.Length > 0)
        {
            await socket.SendAsync(request, SocketFlags.None, timeout.Token);
        }

        socket.Shutdown(SocketShutdown.Send);
        var response = new MemoryStream();
        byte[] buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            response.Write(buffer, 0, read);
        }

        return Encoding.ASCII.GetString(response.ToArray());
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20, Token);
        }
    }

    private static Task<LabCommandResult> RunAsync(string? ns, string file, string[] args)
        => LabProcess.RunAsync(ns, file, args, s_commandTimeout, Token);

    private static Task<LabCommandResult> RunCheckedAsync(string? ns, string file, string[] args)
        => LabProcess.RunCheckedAsync(ns, file, args, s_commandTimeout, Token);
}
