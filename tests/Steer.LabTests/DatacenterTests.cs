using System.Globalization;
using System.Text.Json;
using Steer.Lab;

namespace Steer.LabTests;

/// <summary>
/// Several datacenters in the lab, each behind a user-space delay relay (there is no netem here): Steer picks the
/// fastest, keeps it within noise, switches only past the hysteresis, fails over in seconds, and rules out broken ones.
/// </summary>
[Collection(SteerLabCollection.Name)]
public sealed class DatacenterTests(SteerLabFixture fixture, ITestOutputHelper output)
{
    private SteerLab Lab => fixture.Lab;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Picks_the_lowest_latency_then_switches_only_past_the_hysteresis()
    {
        fixture.SkipIfUnavailable();
        LabGateway a = await Lab.StartGatewayAsync("dc-a", 11, 4411, TimeSpan.FromMilliseconds(30), Ct);
        LabGateway b = await Lab.StartGatewayAsync("dc-b", 12, 4412, TimeSpan.FromMilliseconds(5), Ct);
        LabGateway c = await Lab.StartGatewayAsync("dc-c", 13, 4413, TimeSpan.FromMilliseconds(60), Ct);
        try
        {
            string config = Lab.WriteTenantConfiguration("three.json", [a, b, c]);
            LabCommandResult probe = await RunSteerAsync("probe", "--tenant", Lab.Tenant, "--config", config, "--json");
            output.WriteLine(probe.StandardOutput);
            using (JsonDocument report = JsonDocument.Parse(probe.StandardOutput))
            {
                Assert.Equal("dc-b", report.RootElement.GetProperty("chosen").GetString());
            }

            await using LabProcess client = StartClient("dcsel", config, "--probe-interval", "1");
            await Lab.WaitForClientStateAsync(client, "connected", Ct);
            JsonElement status = await Lab.ClientStatusAsync("dcsel", Ct);
            output.WriteLine($"chosen: {status.GetProperty("gateway")} because {status.GetProperty("gatewayReason")}");
            Assert.Equal("dc-b", status.GetProperty("gateway").GetString());

            // Within noise: a is 4 ms faster than b now; that must not move the client.
            await SteerLab.SetDelayAsync(b, TimeSpan.FromMilliseconds(12), Ct);
            await SteerLab.SetDelayAsync(a, TimeSpan.FromMilliseconds(10), Ct);
            await Task.Delay(TimeSpan.FromSeconds(8), Ct);
            Assert.Equal("dc-b", (await Lab.ClientStatusAsync("dcsel", Ct)).GetProperty("gateway").GetString());

            // Clearly better (>= 10 ms and <= 2/3): c drops to 1 ms while b is at 25 ms.
            await SteerLab.SetDelayAsync(b, TimeSpan.FromMilliseconds(25), Ct);
            await SteerLab.SetDelayAsync(c, TimeSpan.FromMilliseconds(1), Ct);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string? now = null;
            while (clock.Elapsed < TimeSpan.FromSeconds(30) && (now = (await Lab.ClientStatusAsync("dcsel", Ct)).GetProperty("gateway").GetString()) != "dc-c")
            {
                await Task.Delay(250, Ct);
            }

            status = await Lab.ClientStatusAsync("dcsel", Ct);
            output.WriteLine($"after the change: {now} after {clock.Elapsed.TotalSeconds:0.0} s because {status.GetProperty("gatewayReason")}");
            Assert.Equal("dc-c", now);
            Assert.True(client.Terminate());
            Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
        }
        finally
        {
            await StopAsync(a, b, c);
        }
    }

    [Fact]
    public async Task Killing_the_active_datacenter_moves_traffic_to_the_next_within_seconds()
    {
        fixture.SkipIfUnavailable();
        LabGateway a = await Lab.StartGatewayAsync("dc-fa", 21, 4421, TimeSpan.FromMilliseconds(2), Ct);
        LabGateway b = await Lab.StartGatewayAsync("dc-fb", 22, 4422, TimeSpan.FromMilliseconds(15), Ct);
        try
        {
            string config = Lab.WriteTenantConfiguration("failover.json", [a, b]);
            await using LabProcess client = StartClient("failover", config);
            await Lab.WaitForClientStateAsync(client, "connected", Ct);
            JsonElement initial = await Lab.ClientStatusAsync("failover", Ct);
            output.WriteLine($"initially on {initial.GetProperty("gateway")} ({initial.GetProperty("gatewayReason")})");
            output.WriteLine(client.GetOutput());
            (LabGateway active, LabGateway other) = initial.GetProperty("gateway").GetString() == a.Name ? (a, b) : (b, a);

            Task<LabCommandResult> ping = LabProcess.RunAsync(Lab.Topology.ClientNamespace, "ping",
                ["-D", "-n", "-i", "0.05", "-w", "12", "-W", "1", Lab.Topology.InetAddress.ToString()], TimeSpan.FromSeconds(20), Ct);
            await Task.Delay(3000, Ct);
            Assert.True(active.Process.Kill());
            LabCommandResult result = await ping;

            double gap = MaxGapSeconds(result.StandardOutput, out int replies);
            JsonElement status = await Lab.ClientStatusAsync("failover", Ct);
            output.WriteLine($"failover gap: {gap * 1000:0} ms ({replies} replies); now on {status.GetProperty("gateway")} ({status.GetProperty("gatewayReason")})");
            Assert.Equal(other.Name, status.GetProperty("gateway").GetString());
            Assert.InRange(gap, 0.0, 8.0);
            Assert.True(client.Terminate());
            Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
        }
        finally
        {
            await StopAsync(a, b);
        }
    }

    [Fact]
    public async Task Silent_refusing_and_wrong_pin_datacenters_are_ruled_out_with_reasons()
    {
        fixture.SkipIfUnavailable();
        LabGateway good = await Lab.StartGatewayAsync("dc-good", 31, 4431, null, Ct);
        LabGateway impostor = await Lab.StartGatewayAsync("dc-impostor", 32, 4432, null, Ct);
        try
        {
            LabGateway refused = good with { Name = "dc-refused", ClientPort = 4439 };
            LabGateway silent = good with { Name = "dc-silent", Address = "198.18.1.77" };
            LabGateway wrongPin = impostor with { Pin = good.Pin };
            string config = Lab.WriteTenantConfiguration("broken.json", [silent, refused, wrongPin, good]);

            LabCommandResult probe = await RunSteerAsync("probe", "--tenant", Lab.Tenant, "--config", config, "--json");
            output.WriteLine(probe.StandardOutput);
            using JsonDocument report = JsonDocument.Parse(probe.StandardOutput);
            Dictionary<string, JsonElement> byName = report.RootElement.GetProperty("datacenters").EnumerateArray()
                .ToDictionary(d => d.GetProperty("name").GetString()!, d => d.Clone());
            Assert.Equal("dc-good", report.RootElement.GetProperty("chosen").GetString());
            Assert.Contains(byName["dc-refused"].GetProperty("state").GetString(), new[] { "refused", "unreachable" });
            Assert.Contains("refused", byName["dc-refused"].GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Contains(byName["dc-silent"].GetProperty("state").GetString(), new[] { "no-answer", "unreachable" });
            Assert.Equal("wrong-pin", byName["dc-impostor"].GetProperty("state").GetString());
            Assert.Contains("not in the tenant configuration", byName["dc-impostor"].GetProperty("reason").GetString(), StringComparison.Ordinal);

            await using LabProcess client = StartClient("broken", config);
            await Lab.WaitForClientStateAsync(client, "connected", Ct);
            Assert.Equal("dc-good", (await Lab.ClientStatusAsync("broken", Ct)).GetProperty("gateway").GetString());
            Assert.True(client.Terminate());
            Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
        }
        finally
        {
            await StopAsync(good, impostor);
        }
    }

    [Fact]
    public async Task A_network_change_triggers_a_full_re_probe()
    {
        fixture.SkipIfUnavailable();
        LabGateway a = await Lab.StartGatewayAsync("dc-na", 41, 4441, null, Ct);
        LabGateway b = await Lab.StartGatewayAsync("dc-nb", 42, 4442, TimeSpan.FromMilliseconds(20), Ct);
        string ns = Lab.Topology.ClientNamespace;
        try
        {
            string config = Lab.WriteTenantConfiguration("netchange.json", [a, b]);
            await using LabProcess client = StartClient("netchange", config, "--probe-interval", "600");
            await Lab.WaitForClientStateAsync(client, "connected", Ct);
            await Task.Delay(3000, Ct); // the watcher takes its first look
            long before = await ProbesAnsweredAsync(a);

            (await LabProcess.RunAsync(ns, "ip", ["addr", "add", "198.18.1.50/24", "dev", "c0"], TimeSpan.FromSeconds(10), Ct)).EnsureSuccess();
            long after = before;
            for (int i = 0; i < 40 && after < before + 3; i++)
            {
                await Task.Delay(250, Ct);
                after = await ProbesAnsweredAsync(a);
            }

            output.WriteLine($"probes answered by {a.Name}: {before} before the change, {after} after");
            Assert.True(after >= before + 3, "a new address must trigger a re-probe of every datacenter (probe interval is 600 s)");
            Assert.True(client.Terminate());
            Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
        }
        finally
        {
            await LabProcess.RunAsync(ns, "ip", ["addr", "del", "198.18.1.50/24", "dev", "c0"], TimeSpan.FromSeconds(10), CancellationToken.None);
            await StopAsync(a, b);
        }
    }

    private async Task<long> ProbesAnsweredAsync(LabGateway gateway)
    {
        LabCommandResult status = (await LabProcess.RunAsync(null, Lab.Steer.FileName, Lab.Steer.GetArguments("gateway", "status", "--json", "--control-socket", gateway.ControlSocket), TimeSpan.FromSeconds(30), Ct)).EnsureSuccess();
        using JsonDocument document = JsonDocument.Parse(status.StandardOutput);
        return document.RootElement.GetProperty("probesAnswered").GetInt64();
    }

    private LabProcess StartClient(string name, string config, params string[] extra)
        => LabProcess.Start(Lab.Topology.ClientNamespace, Lab.Steer.FileName, Lab.Steer.GetArguments(
            ["up", "--tenant", Lab.Tenant, "--config", config, "--token", Lab.Token, "--device-id", $"lab-{name}", "--control-socket", Lab.ClientSocket(name), .. extra]),
            new LabProcessOptions { Name = name });

    private async Task<LabCommandResult> RunSteerAsync(params string[] args)
        => await LabProcess.RunAsync(Lab.Topology.ClientNamespace, Lab.Steer.FileName, Lab.Steer.GetArguments(args), TimeSpan.FromSeconds(60), Ct);

    private static async Task StopAsync(params LabGateway[] gateways)
    {
        foreach (LabGateway g in gateways)
        {
            g.Relay?.Terminate();
            g.Process.Terminate();
        }

        foreach (LabGateway g in gateways)
        {
            if (g.Relay is not null)
            {
                await g.Relay.WaitForExitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            }

            if (!g.Process.HasExited)
            {
                await g.Process.WaitForExitAsync(TimeSpan.FromSeconds(15), CancellationToken.None);
            }
        }
    }

    /// <summary>Largest gap between consecutive echo replies in `ping -D` output, in seconds.</summary>
    private static double MaxGapSeconds(string pingOutput, out int replies)
    {
        var times = pingOutput.Split('\n')
            .Where(l => l.StartsWith('[') && l.Contains("bytes from", StringComparison.Ordinal))
            .Select(l => double.Parse(l[1..l.IndexOf(']', StringComparison.Ordinal)], CultureInfo.InvariantCulture))
            .ToList();
        replies = times.Count;
        return times.Count < 2 ? double.MaxValue : times.Zip(times.Skip(1), (x, y) => y - x).Max();
    }
}
