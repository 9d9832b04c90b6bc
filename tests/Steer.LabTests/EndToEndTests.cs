using System.Text.Json;
using Steer.Lab;

namespace Steer.LabTests;

/// <summary>
/// The product path for real: <c>steer up</c> in the client namespace, the reference gateway in the gateway
/// namespace, servers in the internet namespace; real TUN devices, TLS, NAT.
/// </summary>
[Collection(SteerLabCollection.Name)]
public sealed class EndToEndTests(SteerLabFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    private SteerLab Lab => fixture.Lab;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Http_get_goes_through_the_tunnel_and_the_server_sees_the_gateway()
    {
        fixture.SkipIfUnavailable();
        LabCommandResult before = await Lab.CurlFromClientAsync(Lab.WhoAmIUrl, TimeSpan.FromSeconds(3), Ct);
        Assert.False(before.Succeeded, "the client must not reach the internet namespace without Steer");

        // The TLS path on its own (DtlsTests cover DTLS and the fallback between the two).
        await using LabProcess client = Lab.StartClient("http", null, "--transport", "tls");
        await ConnectedAsync(client);

        LabCommandResult v4 = await Lab.CurlFromClientAsync(Lab.WhoAmIUrl, TimeSpan.FromSeconds(10), Ct);
        Assert.True(v4.Succeeded, v4.ToString());
        Assert.Equal($"you are {Lab.Topology.GatewayInetAddress}", v4.StandardOutput.Trim());

        LabCommandResult v6 = await Lab.CurlFromClientAsync($"http://[{Lab.Topology.InetAddressV6}]:{LabNames.HttpPort}/whoami", TimeSpan.FromSeconds(10), Ct);
        Assert.True(v6.Succeeded, v6.ToString());
        Assert.Equal($"you are {Lab.Topology.GatewayInetAddressV6}", v6.StandardOutput.Trim());

        // A larger transfer arrives intact: the server sends the body's SHA-256 in a header.
        string headers = Path.Combine(Lab.WorkDirectory, "bytes.headers");
        LabCommandResult bytes = await LabProcess.RunAsync(Lab.Topology.ClientNamespace, "sh",
            ["-c", $"curl -sS --max-time 60 -D {headers} 'http://{Lab.Topology.InetAddress}:{LabNames.HttpPort}/bytes?n=20000000' | sha256sum"], TimeSpan.FromSeconds(70), Ct);
        Assert.True(bytes.Succeeded, bytes.ToString());
        string expectedSha = File.ReadAllLines(headers)
            .First(l => l.StartsWith(WhoAmIServer.Sha256HeaderName + ":", StringComparison.OrdinalIgnoreCase))[(WhoAmIServer.Sha256HeaderName.Length + 1)..].Trim();
        Assert.Equal(expectedSha.ToLowerInvariant(), bytes.StandardOutput.Split(' ')[0]);

        JsonElement status = await Lab.ClientStatusAsync("http", Ct);
        Assert.Equal("Connected", status.GetProperty("state").GetString());
        Assert.Equal("tls", status.GetProperty("transport").GetString());
        Assert.True(status.GetProperty("bytesReceived").GetInt64() >= 20_000_000);
        await StopAsync(client, terminate: true);
    }

    [Fact]
    public async Task Wrong_pin_is_refused_and_no_packet_reaches_the_gateway_tun()
    {
        fixture.SkipIfUnavailable();
        string config = await File.ReadAllTextAsync(Path.Combine(Lab.WorkDirectory, "tenant.json"), Ct);
        string wrongPin = "sha256/" + Convert.ToBase64String(new byte[32]);
        string file = Path.Combine(Lab.WorkDirectory, "tenant-wrong-pin.json");
        await File.WriteAllTextAsync(file, config.Replace(Lab.GatewayPin, wrongPin, StringComparison.Ordinal), Ct);
        long tunRxBefore = await GatewayTunRxPacketsAsync();
        JsonElement gatewayBefore = await Lab.GatewayStatusAsync(Ct);

        await using LabProcess client = LabProcess.Start(Lab.Topology.ClientNamespace, Lab.Steer.FileName, Lab.Steer.GetArguments(
            "up", "--tenant", Lab.Tenant, "--config", file, "--token", Lab.Token, "--device-id", "pin-test", "--control-socket", Lab.ClientSocket("pin")));
        int exit = await client.WaitForExitAsync(TimeSpan.FromSeconds(30), Ct);

        string log = client.GetOutput();
        output.WriteLine(log);
        Assert.Equal(5, exit);
        Assert.Contains(wrongPin, log, StringComparison.Ordinal);
        Assert.Contains(Lab.GatewayPin, log, StringComparison.Ordinal);
        Assert.DoesNotContain("steer: connected", log, StringComparison.Ordinal);
        JsonElement gatewayAfter = await Lab.GatewayStatusAsync(Ct);
        Assert.Equal(gatewayBefore.GetProperty("sessionsAccepted").GetInt64(), gatewayAfter.GetProperty("sessionsAccepted").GetInt64());
        Assert.Equal(gatewayBefore.GetProperty("packetsToTun").GetInt64(), gatewayAfter.GetProperty("packetsToTun").GetInt64());
        Assert.Equal(tunRxBefore, await GatewayTunRxPacketsAsync());
        Assert.False(await ClientHasSteerInterfaceAsync(), "no TUN interface may exist after a refused connection");
    }

    [Theory]
    [InlineData("SIGINT")]
    [InlineData("SIGTERM")]
    public async Task Stopping_by_signal_restores_links_addresses_and_routes_exactly(string signal)
    {
        fixture.SkipIfUnavailable();
        string before = await ClientNetworkStateAsync();

        await using LabProcess client = Lab.StartClient($"sig{signal}");
        await ConnectedAsync(client);
        string during = await ClientNetworkStateAsync();
        Assert.NotEqual(before, during);
        Assert.Contains("steer0", during, StringComparison.Ordinal);

        Assert.True(signal == "SIGINT" ? client.Interrupt() : client.Terminate());
        int exit = await client.WaitForExitAsync(StopTimeout, Ct);

        Assert.Equal(0, exit);
        Assert.Contains($"stopped on {signal}", client.GetOutput(), StringComparison.Ordinal);
        Assert.Equal(before, await ClientNetworkStateAsync());
    }

    [Theory]
    [InlineData("forged")]
    [InlineData("garbage")]
    [InlineData("other-tenant")]
    public async Task Client_with_a_bad_token_gets_no_address(string kind)
    {
        fixture.SkipIfUnavailable();
        string token = kind switch
        {
            "forged" => Lab.Token[..^4] + (Lab.Token[^4..] == "AAAA" ? "BBBB" : "AAAA"),
            "garbage" => "not-a-token",
            _ => await ForeignTenantTokenAsync(),
        };
        JsonElement before = await Lab.GatewayStatusAsync(Ct);

        await using LabProcess client = Lab.StartClient($"tok-{kind}", token);
        int exit = await client.WaitForExitAsync(TimeSpan.FromSeconds(30), Ct);

        string log = client.GetOutput();
        output.WriteLine(log);
        Assert.Equal(6, exit);
        Assert.Contains("auth-failed", log, StringComparison.Ordinal);
        Assert.False(await ClientHasSteerInterfaceAsync());
        JsonElement after = await Lab.GatewayStatusAsync(Ct);
        Assert.Equal(before.GetProperty("authenticationFailures").GetInt64() + 1, after.GetProperty("authenticationFailures").GetInt64());
        Assert.Equal(before.GetProperty("sessionsAccepted").GetInt64(), after.GetProperty("sessionsAccepted").GetInt64());
    }

    [Fact]
    public async Task Client_without_a_token_is_stopped_before_connecting_with_a_clear_error()
    {
        fixture.SkipIfUnavailable();
        JsonElement before = await Lab.GatewayStatusAsync(Ct);
        await using LabProcess client = LabProcess.Start(Lab.Topology.ClientNamespace, Lab.Steer.FileName, Lab.Steer.GetArguments(
            "up", "--tenant", Lab.Tenant, "--config-url", Lab.ConfigUrl, "--config-pin", Lab.GatewayPin, "--control-socket", Lab.ClientSocket("notoken")));

        int exit = await client.WaitForExitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(2, exit);
        Assert.Contains("No token", client.GetOutput(), StringComparison.Ordinal);
        Assert.False(await ClientHasSteerInterfaceAsync());
        JsonElement after = await Lab.GatewayStatusAsync(Ct);
        Assert.Equal(before.GetProperty("sessionsAccepted").GetInt64(), after.GetProperty("sessionsAccepted").GetInt64());
    }

    [Fact]
    public async Task Gateway_drops_packets_with_a_spoofed_source_and_the_session_survives()
    {
        fixture.SkipIfUnavailable();
        await using LabProcess client = Lab.StartClient("spoof");
        await ConnectedAsync(client);
        const string spoofed = "100.64.0.200";
        string ns = Lab.Topology.ClientNamespace;
        (await LabProcess.RunAsync(ns, "ip", ["addr", "add", $"{spoofed}/32", "dev", "lo"], TimeSpan.FromSeconds(10), Ct)).EnsureSuccess();
        try
        {
            JsonElement before = await Lab.GatewayStatusAsync(Ct);
            LabCommandResult attempt = await Lab.CurlFromClientAsync(Lab.WhoAmIUrl, TimeSpan.FromSeconds(3), Ct, "--interface", spoofed);
            JsonElement after = await Lab.GatewayStatusAsync(Ct);

            Assert.False(attempt.Succeeded, "a packet with a foreign source must not reach the server");
            Assert.True(after.GetProperty("spoofedDropped").GetInt64() > before.GetProperty("spoofedDropped").GetInt64());
            LabCommandResult normal = await Lab.CurlFromClientAsync(Lab.WhoAmIUrl, TimeSpan.FromSeconds(10), Ct);
            Assert.Equal($"you are {Lab.Topology.GatewayInetAddress}", normal.StandardOutput.Trim());
        }
        finally
        {
            await LabProcess.RunAsync(ns, "ip", ["addr", "del", $"{spoofed}/32", "dev", "lo"], TimeSpan.FromSeconds(10), CancellationToken.None);
            await StopAsync(client, terminate: true);
        }
    }

    private async Task ConnectedAsync(LabProcess client)
    {
        try
        {
            await Lab.WaitForClientStateAsync(client, "connected", Ct);
        }
        catch
        {
            output.WriteLine(client.GetOutput());
            output.WriteLine(Lab.Gateway?.GetOutput() ?? "");
            throw;
        }
    }

    private async Task StopAsync(LabProcess client, bool terminate)
    {
        _ = terminate ? client.Terminate() : client.Interrupt();
        Assert.Equal(0, await client.WaitForExitAsync(StopTimeout, Ct));
    }

    private async Task<string> ForeignTenantTokenAsync()
    {
        string dir = Path.Combine(Lab.WorkDirectory, "other-tenant");
        (await LabProcess.RunAsync(null, Lab.Steer.FileName, Lab.Steer.GetArguments("gateway", "init", "--dir", dir, "--tenant", "other", "--address", "127.0.0.1", "--force"), TimeSpan.FromSeconds(60), Ct)).EnsureSuccess();
        LabCommandResult token = (await LabProcess.RunAsync(null, Lab.Steer.FileName, Lab.Steer.GetArguments("gateway", "issue-token", "--config", Path.Combine(dir, "gateway.json"), "--user", "mallory"), TimeSpan.FromSeconds(60), Ct)).EnsureSuccess();
        return token.StandardOutput.Trim();
    }

    private async Task<long> GatewayTunRxPacketsAsync()
    {
        JsonElement status = await Lab.GatewayStatusAsync(Ct);
        string tun = status.GetProperty("interface").GetString()!;
        LabCommandResult rx = (await LabProcess.RunAsync(Lab.Topology.GatewayNamespace, "cat", [$"/sys/class/net/{tun}/statistics/rx_packets"], TimeSpan.FromSeconds(10), Ct)).EnsureSuccess();
        return long.Parse(rx.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<bool> ClientHasSteerInterfaceAsync()
    {
        LabCommandResult links = (await LabProcess.RunAsync(Lab.Topology.ClientNamespace, "ip", ["-o", "link", "show", "type", "tun"], TimeSpan.FromSeconds(10), Ct)).EnsureSuccess();
        return links.StandardOutput.Trim().Length > 0;
    }

    /// <summary>Links, addresses, routes of every table and rules of the client namespace, as text.</summary>
    private async Task<string> ClientNetworkStateAsync()
    {
        var parts = new List<string>();
        foreach (string[] args in new[]
        {
            new[] { "-d", "link", "show" }, ["addr", "show"], ["-4", "route", "show", "table", "all"], ["-6", "route", "show", "table", "all"],
            ["-4", "rule", "show"], ["-6", "rule", "show"],
        })
        {
            LabCommandResult r = (await LabProcess.RunAsync(Lab.Topology.ClientNamespace, "ip", args, TimeSpan.FromSeconds(10), Ct)).EnsureSuccess();
            parts.Add(string.Join(' ', args) + ":\n" + r.StandardOutput);
        }

        return string.Join('\n', parts);
    }
}
