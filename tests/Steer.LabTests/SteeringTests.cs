using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Steer.Lab;

namespace Steer.LabTests;

/// <summary>
/// Steering policy and DNS end to end: web mode by port, domain rules learned from DNS answers before the answer is
/// returned, no DNS leak in mode all, and a killed client's rules, routes and resolv.conf undone by the next start or
/// by <c>steer down --cleanup</c>. The internet namespace's web servers say who connected: the gateway's address means
/// the tunnel, the client's own address means the direct path.
/// </summary>
[Collection(SteeringLabCollection.Name)]
public sealed class SteeringTests(SteeringLabFixture fixture, ITestOutputHelper output)
{
    private SteerLab Lab => fixture.Lab;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string ViaTunnel => $"you are {Lab.Topology.GatewayInetAddress}";

    private string Direct => $"you are {Lab.Topology.ClientAddress}";

    [Fact]
    public async Task Web_mode_steers_ports_80_and_443_and_leaves_other_ports_direct()
    {
        fixture.SkipIfUnavailable();
        string before = await HostStateAsync();
        string config = Lab.WriteTenantConfiguration("web.json", [Lab.FirstGateway], new JsonObject { ["mode"] = "web" });
        await using (LabProcess client = Lab.StartClientWithConfiguration("web", config))
        await using (Cleanup("web"))
        {
            await Lab.WaitForClientStateAsync(client, "connected", Ct);
            string inet = Lab.Topology.InetAddress.ToString();
            Assert.Equal(ViaTunnel, await WhoAmIAsync($"http://{inet}:80/whoami"));
            Assert.Equal(ViaTunnel, await WhoAmIAsync($"http://{inet}:443/whoami"));
            Assert.Equal(Direct, await WhoAmIAsync($"http://{inet}:8080/whoami"));

            string rules = (await IpAsync("-4", "rule", "show")).StandardOutput;
            output.WriteLine(rules);
            Assert.Contains("dport 80", rules, StringComparison.Ordinal);
            Assert.Contains("dport 443", rules, StringComparison.Ordinal);
            await StopAsync(client);
        }

        Assert.Equal(before, await HostStateAsync());
    }

    [Fact]
    public async Task Domain_rules_steer_the_first_connection_after_resolution_and_exclusions_go_direct()
    {
        fixture.SkipIfUnavailable();
        string before = await HostStateAsync();
        string listed = Lab.WriteTenantConfiguration("listed.json", [Lab.FirstGateway], new JsonObject
        {
            ["mode"] = "listed",
            ["include"] = new JsonArray(LabNames.TunnelName, "*." + LabNames.WildcardDomain),
        });
        await using (LabProcess client = Lab.StartClientWithConfiguration("listed", listed))
        await using (Cleanup("listed"))
        {
            await Lab.WaitForClientStateAsync(client, "connected", Ct);

            // curl resolves through the OS (resolv.conf → Steer's stub) and connects at once: the first connection.
            Assert.Equal(ViaTunnel, await WhoAmIAsync($"http://{LabNames.TunnelName}:8080/whoami"));
            Assert.Equal(ViaTunnel, await WhoAmIAsync($"http://a.{LabNames.WildcardDomain}:8080/whoami"));
            Assert.Equal(ViaTunnel, await WhoAmIAsync($"http://b.c.{LabNames.WildcardDomain}:8080/whoami"));
            Assert.Equal(Direct, await WhoAmIAsync($"http://{LabNames.OtherName}:8080/whoami"));

            JsonElement status = await Lab.ClientStatusAsync("listed", Ct);
            output.WriteLine(status.ToString());
            Assert.True(status.GetProperty("learnedAddresses").GetInt32() >= 2);
            Assert.True(status.GetProperty("dnsQueriesSteered").GetInt64() >= 3);
            await StopAsync(client);
        }

        string all = Lab.WriteTenantConfiguration("exclude.json", [Lab.FirstGateway], new JsonObject
        {
            ["mode"] = "all",
            ["exclude"] = new JsonArray(LabNames.DirectName),
        });
        await using (LabProcess client = Lab.StartClientWithConfiguration("exclude", all))
        await using (Cleanup("exclude"))
        {
            await Lab.WaitForClientStateAsync(client, "connected", Ct);
            Assert.Equal(Direct, await WhoAmIAsync($"http://{LabNames.DirectName}:8080/whoami"));
            Assert.Equal(ViaTunnel, await WhoAmIAsync($"http://{LabNames.OtherName}:8080/whoami"));
            await StopAsync(client);
        }

        Assert.Equal(before, await HostStateAsync());
    }

    [Fact]
    public async Task A_learned_route_outlives_its_ttl_while_a_quiet_connection_uses_it_and_goes_after()
    {
        fixture.SkipIfUnavailable();
        string listed = Lab.WriteTenantConfiguration("keepalive.json", [Lab.FirstGateway], new JsonObject
        {
            ["mode"] = "listed",
            ["include"] = new JsonArray(LabNames.TunnelName, "*." + LabNames.WildcardDomain),
        });

        // TTL 5 s (lab DNS) and a 1 s lifetime: without a user, a learned route goes about 6 s after the answer.
        await using LabProcess client = Lab.StartClientWithConfiguration("keepalive", listed, "--learned-route-lifetime", "1");
        await using (Cleanup("keepalive"))
        {
            await Lab.WaitForClientStateAsync(client, "connected", Ct);

            // A connection that says nothing for 9 s (the lab server waits 10 s for a request), then asks who it is:
            // no packet crosses the TUN meanwhile, so only the socket table can tell Steer that the address is still
            // in use. Had the route gone, the request would leave with the tunnel's source address on the direct path
            // and never be answered.
            var quiet = Stopwatch.StartNew();
            Task<LabCommandResult> connection = SteerLab.RunInAsync(Lab.Topology.ClientNamespace, "bash", TimeSpan.FromSeconds(30), Ct, "-c",
                $"exec 3<>/dev/tcp/{LabNames.TunnelName}/8080 && sleep 9 && printf 'GET /whoami HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n' >&3 && timeout 10 cat <&3");
            await WaitForLearnedAsync("keepalive", n => n >= 1, TimeSpan.FromSeconds(5));

            // The control: a name resolved at the same time that nothing connects to.
            string unused = "x." + LabNames.WildcardDomain;
            await ResolveAsync(unused, LabNames.WildcardAddress);
            Assert.Equal(2, (await Lab.ClientStatusAsync("keepalive", Ct)).GetProperty("learnedAddresses").GetInt32());
            await WaitForLearnedAsync("keepalive", n => n == 1, TimeSpan.FromSeconds(8));
            string routes = (await IpAsync("route", "show", "table", "all")).StandardOutput;
            output.WriteLine($"{quiet.Elapsed.TotalSeconds:0.0} s into the quiet connection: the route of {unused} is gone, 1 learned address left");
            Assert.True(quiet.Elapsed < TimeSpan.FromSeconds(8.5), "the unused route went too late to tell the two apart");
            Assert.Contains(LabNames.TunnelNameAddress, routes, StringComparison.Ordinal);
            Assert.DoesNotContain(LabNames.WildcardAddress, routes, StringComparison.Ordinal);

            LabCommandResult answer = await connection;
            output.WriteLine(answer.ToString());
            Assert.True(answer.Succeeded, answer.ToString());
            Assert.Contains(ViaTunnel, answer.StandardOutput, StringComparison.Ordinal);

            // The connection is over: its route goes within lifetime + check period.
            TimeSpan gone = await WaitForLearnedAsync("keepalive", n => n == 0, TimeSpan.FromSeconds(10));
            output.WriteLine($"connection closed -> its learned route removed after {gone.TotalSeconds:0.0} s");
            Assert.DoesNotContain(LabNames.TunnelNameAddress, (await IpAsync("route", "show", "table", "all")).StandardOutput, StringComparison.Ordinal);
            await StopAsync(client);
        }
    }

    [Fact]
    public async Task Policy_explain_names_the_rule_that_decides()
    {
        fixture.SkipIfUnavailable();
        string config = Lab.WriteTenantConfiguration("explain.json", [Lab.FirstGateway], new JsonObject
        {
            ["mode"] = "web",
            ["include"] = new JsonArray("*." + LabNames.WildcardDomain, "10.0.0.0/8:tcp/22"),
            ["exclude"] = new JsonArray("10.1.0.0/16"),
        });
        (string Target, string Expected)[] cases =
        [
            ("a." + LabNames.WildcardDomain + ":8080", "tunnel (include *." + LabNames.WildcardDomain + ")"),
            ("10.2.3.4:22", "tunnel (include 10.0.0.0/8:tcp/22)"),
            ("10.1.2.3:22", "direct (exclude 10.1.0.0/16)"),
            ("192.0.2.1:443", "tunnel (include mode web: tcp/443)"),
            ("192.0.2.1:8080", "direct"),
            (Lab.Topology.GatewayAddress + ":443", "direct (exclude gateway"),
            (Lab.Topology.ClientAddress + ":443", "direct (exclude connected"),
        ];
        foreach ((string target, string expected) in cases)
        {
            LabCommandResult result = await Lab.RunSteerInClientAsync(Ct, "policy", "explain", target, "--tenant", Lab.Tenant, "--config", config);
            output.WriteLine(result.StandardOutput.Trim());
            Assert.True(result.Succeeded, result.ToString());
            string line = result.StandardOutput.Split('\n').Single(l => l.StartsWith(target.Split(':')[0], StringComparison.Ordinal));
            Assert.Contains(": " + expected, line, StringComparison.Ordinal);
        }

        LabCommandResult bad = await Lab.RunSteerInClientAsync(Ct, "policy", "explain", "10.0.0.1:99999", "--tenant", Lab.Tenant, "--config", config);
        Assert.False(bad.Succeeded);
        Assert.Contains("port must be 1-65535", bad.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_mode_all_no_DNS_packet_leaves_the_physical_interface()
    {
        fixture.SkipIfUnavailable();
        const string Table = "steerleak";
        await NftAsync("add", "table", "inet", Table);
        try
        {
            await NftAsync("add", "chain", "inet", Table, "out", "{ type filter hook output priority 0 ; }");
            await NftAsync("add", "rule", "inet", Table, "out", "oifname", LabNames.ClientInterface, "meta", "l4proto", "{ tcp, udp }", "th", "dport", "53", "counter");

            // The counter sees DNS when Steer is not up (so a zero below means something).
            await ResolveAsync(LabNames.OtherName, LabNames.OtherNameAddress);
            long baseline = await DnsPacketsAsync(Table);
            Assert.True(baseline > 0, "the leak counter must count DNS queries on the physical interface");

            string config = Lab.WriteTenantConfiguration("leak.json", [Lab.FirstGateway], new JsonObject { ["mode"] = "all" });
            await using LabProcess client = Lab.StartClientWithConfiguration("leak", config);
            await Lab.WaitForClientStateAsync(client, "connected", Ct);
            foreach ((string name, string address) in new[]
            {
                (LabNames.TunnelName, LabNames.TunnelNameAddress), (LabNames.DirectName, LabNames.DirectNameAddress),
                (LabNames.OtherName, LabNames.OtherNameAddress), ("x." + LabNames.WildcardDomain, LabNames.WildcardAddress),
            })
            {
                await ResolveAsync(name, address);
            }

            long leaked = await DnsPacketsAsync(Table) - baseline;
            JsonElement status = await Lab.ClientStatusAsync("leak", Ct);
            output.WriteLine($"DNS packets on {LabNames.ClientInterface}: {leaked}; stub steered {status.GetProperty("dnsQueriesSteered")}");
            Assert.Equal(0, leaked);
            Assert.True(status.GetProperty("dnsQueriesSteered").GetInt64() >= 4);
            await StopAsync(client);
        }
        finally
        {
            await NftAsync("delete", "table", "inet", Table);
            await CleanupAsync("leak");
        }
    }

    [Fact]
    public async Task After_kill_9_the_next_start_and_down_cleanup_restore_rules_routes_and_DNS()
    {
        fixture.SkipIfUnavailable();
        string before = await HostStateAsync();
        string resolvBefore = await File.ReadAllTextAsync(Lab.ClientResolvConf, Ct);
        string config = Lab.WriteTenantConfiguration("crash.json", [Lab.FirstGateway], new JsonObject
        {
            ["mode"] = "web",
            ["include"] = new JsonArray(LabNames.TunnelName),
        });

        await using IAsyncDisposable cleanup = Cleanup("crash");

        // 1. Killed, then started again: the new process undoes the old one's leftovers before it changes anything.
        await KillWhileUpAsync(config, before, resolvBefore);
        await using (LabProcess again = Lab.StartClientWithConfiguration("crash", config))
        {
            await again.WaitForLineAsync(l => l.Contains("did not stop cleanly", StringComparison.Ordinal), TimeSpan.FromSeconds(30), Ct);
            await Lab.WaitForClientStateAsync(again, "connected", Ct);
            Assert.Equal(ViaTunnel, await WhoAmIAsync($"http://{LabNames.TunnelName}:8080/whoami"));
            await StopAsync(again);
        }

        Assert.Equal(before, await HostStateAsync());
        Assert.Equal(resolvBefore, await File.ReadAllTextAsync(Lab.ClientResolvConf, Ct));

        // 2. Killed, then `steer down --cleanup`.
        await KillWhileUpAsync(config, before, resolvBefore);
        LabCommandResult down = await DownCleanupAsync("crash");
        output.WriteLine(down.ToString());
        Assert.True(down.Succeeded, down.ToString());
        Assert.Contains("undid", down.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(before, await HostStateAsync());
        Assert.Equal(resolvBefore, await File.ReadAllTextAsync(Lab.ClientResolvConf, Ct));
    }

    private async Task KillWhileUpAsync(string config, string before, string resolvBefore)
    {
        await using LabProcess client = Lab.StartClientWithConfiguration("crash", config);
        await Lab.WaitForClientStateAsync(client, "connected", Ct);
        Assert.Equal(ViaTunnel, await WhoAmIAsync($"http://{LabNames.TunnelName}:8080/whoami"));
        Assert.True(client.Kill());
        await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct);

        // What a SIGKILLed process leaves: its rules and throw routes, and the DNS file (the TUN and its routes vanish).
        string left = await HostStateAsync();
        output.WriteLine("left after kill -9:\n" + left);
        Assert.NotEqual(before, left);
        Assert.NotEqual(resolvBefore, await File.ReadAllTextAsync(Lab.ClientResolvConf, Ct));
    }

    /// <summary>
    /// Disposed after the client process (which a failed assertion leaves running until its LabProcess is disposed,
    /// with SIGKILL): undoes what it left, so one failing test does not fail the next ones.
    /// </summary>
    private IAsyncDisposable Cleanup(string name) => new AsyncCleanup(() => CleanupAsync(name));

    private async Task CleanupAsync(string name) => await DownCleanupAsync(name);

    private Task<LabCommandResult> DownCleanupAsync(string name) => Lab.RunSteerInClientAsync(CancellationToken.None,
        "down", "--cleanup", "--control-socket", Lab.ClientSocket(name), "--state-dir", Lab.ClientStateDirectory(name), "--resolv-conf", Lab.ClientResolvConf);

    private sealed class AsyncCleanup(Func<Task> cleanup) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await cleanup();
    }

    /// <summary>Rules of both families and every routing table in the client namespace.</summary>
    private async Task<string> HostStateAsync()
    {
        var text = new System.Text.StringBuilder();
        foreach (string[] args in new[]
        {
            new[] { "-4", "rule", "show" }, ["-6", "rule", "show"], ["-4", "route", "show", "table", "all"], ["-6", "route", "show", "table", "all"],
        })
        {
            text.Append(string.Join(' ', args)).Append('\n').Append((await IpAsync(args)).StandardOutput);
        }

        return text.ToString();
    }

    private async Task<TimeSpan> WaitForLearnedAsync(string client, Func<int, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int learned = (await Lab.ClientStatusAsync(client, Ct)).GetProperty("learnedAddresses").GetInt32();
            if (condition(learned))
            {
                return clock.Elapsed;
            }

            Assert.True(clock.Elapsed < timeout, $"learned addresses still {learned} after {timeout.TotalSeconds:0} s");
            await Task.Delay(200, Ct);
        }
    }

    private async Task<string> WhoAmIAsync(string url)
    {
        LabCommandResult result = await Lab.CurlFromClientAsync(url, TimeSpan.FromSeconds(10), Ct);
        output.WriteLine($"{url} -> {result.StandardOutput.Trim()} {result.StandardError.Trim()}");
        Assert.True(result.Succeeded, result.ToString());
        return result.StandardOutput.Trim();
    }

    private async Task ResolveAsync(string name, string expected)
    {
        LabCommandResult result = await SteerLab.RunInAsync(Lab.Topology.ClientNamespace, "getent", TimeSpan.FromSeconds(10), Ct, "ahostsv4", name);
        Assert.True(result.Succeeded && result.StandardOutput.Contains(expected, StringComparison.Ordinal), $"{name}: {result}");
    }

    private async Task<long> DnsPacketsAsync(string table)
    {
        LabCommandResult list = await NftAsync("-j", "list", "table", "inet", table);
        using JsonDocument json = JsonDocument.Parse(list.StandardOutput);
        long packets = 0;
        foreach (JsonElement item in json.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("rule", out JsonElement rule))
            {
                foreach (JsonElement expr in rule.GetProperty("expr").EnumerateArray())
                {
                    if (expr.TryGetProperty("counter", out JsonElement counter))
                    {
                        packets += counter.GetProperty("packets").GetInt64();
                    }
                }
            }
        }

        return packets;
    }

    private async Task<LabCommandResult> NftAsync(params string[] args)
    {
        LabCommandResult result = await SteerLab.RunInAsync(Lab.Topology.ClientNamespace, "nft", TimeSpan.FromSeconds(10), Ct, args);
        Assert.True(result.Succeeded, result.ToString());
        return result;
    }

    private Task<LabCommandResult> IpAsync(params string[] args)
        => SteerLab.RunInAsync(Lab.Topology.ClientNamespace, "ip", TimeSpan.FromSeconds(10), Ct, args);

    private static async Task StopAsync(LabProcess client)
    {
        Assert.True(client.Terminate());
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
    }
}
