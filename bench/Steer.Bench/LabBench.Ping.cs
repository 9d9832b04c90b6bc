using System.Net;
using Steer.Bench.Probes;
using Steer.Bench.Reporting;
using Steer.Lab;

namespace Steer.Bench;

internal sealed partial class LabBench
{
    /// <summary>Port of the gateway's configuration server: the TCP target of the direct RTT when ping is missing.</summary>
    private const int GatewayConfigPort = 8443;

    /// <summary>
    /// Ping RTT through the tunnel (client → inet 198.18.2.2) and direct (client → gateway 198.18.1.1 over the veth,
    /// not through the tunnel), back to back in each run so both see the same load on the machine. "Added" is the
    /// difference of the two medians of that run.
    /// </summary>
    private async Task MeasurePingAsync(SteerLab lab, LabProcess client, string scope, CancellationToken ct)
    {
        LabTopology t = lab.Topology;
        for (int run = 0; run < options.Runs; run++)
        {
            EnsureAlive(client);
            PingResult? direct = await PingAsync(t.ClientNamespace, new IPEndPoint(t.GatewayAddress, GatewayConfigPort), scope, Metrics.PingDirectP50, ct);
            PingResult? tunnel = await PingAsync(t.ClientNamespace, HttpEndPoint(lab), scope, Metrics.PingTunnelP50, ct);
            if (direct is not null)
            {
                results.Add(scope, Metrics.PingDirectP50, direct.P50);
                results.Add(scope, Metrics.PingDirectP99, direct.P99);
            }

            if (tunnel is not null)
            {
                results.Add(scope, Metrics.PingTunnelP50, tunnel.P50);
                results.Add(scope, Metrics.PingTunnelP99, tunnel.P99);
            }

            if (direct is not null && tunnel is not null)
            {
                results.Add(scope, Metrics.PingAddedP50, tunnel.P50 - direct.P50);
                Log($"[{scope}] ping {Run(run, options.Runs)}: tunnel p50 {F(tunnel.P50, "0.000")} p99 {F(tunnel.P99, "0.000")} ms, " +
                    $"direct p50 {F(direct.P50, "0.000")} p99 {F(direct.P99, "0.000")} ms");
            }
            else
            {
                results.AddError(scope, Metrics.PingAddedP50, "a ping run failed");
            }
        }
    }

    /// <summary>
    /// One RTT run from <paramref name="networkNamespace"/>: iputils ping of the address, or, when ping is not
    /// installed, TCP connect times to the endpoint (noted in the report). Failures are recorded under
    /// <paramref name="errorMetric"/> and give null.
    /// </summary>
    private async Task<PingResult?> PingAsync(string networkNamespace, IPEndPoint target, string scope, MetricDefinition errorMetric, CancellationToken ct)
    {
        try
        {
            PingResult result;
            if (Probes.Ping.IsAvailable)
            {
                result = await Probes.Ping.RunAsync(networkNamespace, target.Address.ToString(), options.PingCount, options.PingInterval, ct);
            }
            else
            {
                results.AddNote("ping (iputils-ping) is not installed: RTTs are TCP connect times (SYN to SYN-ACK plus socket set-up), not ICMP echo");
                result = await TcpConnectRtt.MeasureAsync(networkNamespace, target, options.PingCount, options.PingInterval, ct);
            }

            if (result.Lost > 0)
            {
                results.AddNote($"[{scope}] {result.Lost} of {result.Sent} RTT probes to {target.Address} got no answer");
            }

            return result;
        }
        catch (Exception ex) when (ex is BenchException or TimeoutException)
        {
            results.AddError(scope, errorMetric, ex.Message);
            Log($"[{scope}] RTT to {target.Address} failed: {ex.Message}");
            return null;
        }
    }
}
