using System.Net;
using Steer.Bench.Probes;
using Steer.Bench.Reporting;
using Steer.Lab;

namespace Steer.Bench;

internal sealed partial class LabBench
{
    private const string RoutedScope = "routed";

    /// <summary>
    /// The ceiling: the same namespaces and veth links without Steer. Adds plain routes (client → inet via the gateway
    /// namespace, which forwards, and back), runs iperf3 TCP 1 stream and ping, then removes the routes again so
    /// that the client reaches inet only through Steer afterwards.
    /// </summary>
    private async Task MeasureRoutedAsync(SteerLab lab, CancellationToken ct)
    {
        LabTopology t = lab.Topology;
        LabCommandResult forwarding = await LabProcess.RunCheckedAsync(
            t.GatewayNamespace, "sysctl", ["-n", "net.ipv4.ip_forward"], TimeSpan.FromSeconds(5), ct);
        if (forwarding.StandardOutput.Trim() != "1")
        {
            results.AddError(RoutedScope, Metrics.RoutedTcp1Up, $"the gateway namespace does not forward (net.ipv4.ip_forward={forwarding.StandardOutput.Trim()})");
            return;
        }

        string clientRoute = $"{Network(t.InetAddress.ToString())}/{LabNames.InetLinkPrefixLength}";
        string inetRoute = $"{Network(t.ClientAddress.ToString())}/{LabNames.ClientLinkPrefixLength}";
        Log($"[{RoutedScope}] plain routed path without Steer: route {clientRoute} via {t.GatewayAddress} in the client, {inetRoute} via {t.GatewayInetAddress} in inet");
        await Ip(["-n", t.ClientNamespace, "route", "add", clientRoute, "via", t.GatewayAddress.ToString()], ct);
        try
        {
            await Ip(["-n", t.InetNamespace, "route", "add", inetRoute, "via", t.GatewayInetAddress.ToString()], ct);
            for (int run = 0; run < options.Runs; run++)
            {
                try
                {
                    Iperf3Result r = await Iperf3.RunAsync(t.ClientNamespace, t.InetAddress.ToString(), new Iperf3Test(options.DurationSeconds), ct);
                    results.Add(RoutedScope, Metrics.RoutedTcp1Up, r.BitsPerSecond / 1e6);
                    Log($"[{RoutedScope}] tcp1 up {Run(run, options.Runs)}: {F(r.BitsPerSecond / 1e6, "0")} Mbit/s");
                }
                catch (BenchException ex)
                {
                    results.AddError(RoutedScope, Metrics.RoutedTcp1Up, ex.Message);
                    Log($"[{RoutedScope}] tcp1 up {Run(run, options.Runs)} failed: {ex.Message}");
                }

                await Task.Delay(s_settle, ct);
                PingResult? ping = await PingAsync(t.ClientNamespace, new IPEndPoint(t.InetAddress, LabNames.HttpPort), RoutedScope, Metrics.PingRoutedP50, ct);
                if (ping is not null)
                {
                    results.Add(RoutedScope, Metrics.PingRoutedP50, ping.P50);
                    results.Add(RoutedScope, Metrics.PingRoutedP99, ping.P99);
                }
            }
        }
        finally
        {
            // Always restore the lab: without these routes the client reaches inet only through Steer.
            await Ip(["-n", t.InetNamespace, "route", "del", inetRoute], CancellationToken.None, check: false);
            await Ip(["-n", t.ClientNamespace, "route", "del", clientRoute], CancellationToken.None, check: false);
        }
    }

    private static async Task Ip(string[] args, CancellationToken ct, bool check = true)
    {
        LabCommandResult result = await LabProcess.RunAsync(null, LabPrerequisites.FindExecutable("ip") ?? "ip", args, TimeSpan.FromSeconds(10), ct);
        if (check)
        {
            result.EnsureSuccess();
        }
    }

    /// <summary>The /24 network of a lab address (the lab's links are /24).</summary>
    private static string Network(string address) => address[..address.LastIndexOf('.')] + ".0";
}
