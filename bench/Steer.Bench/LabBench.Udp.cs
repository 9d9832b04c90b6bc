using Steer.Bench.Probes;
using Steer.Bench.Reporting;
using Steer.Lab;

namespace Steer.Bench;

internal sealed partial class LabBench
{
    /// <summary>
    /// iperf3 UDP flood of small datagrams (<c>-u -l 64 -b 0</c> by default: as fast as the sender can), both
    /// directions: datagrams the receiver got per second, and the share lost on the way.
    /// </summary>
    private async Task MeasureUdpAsync(SteerLab lab, LabProcess client, string scope, CancellationToken ct)
    {
        LabTopology t = lab.Topology;
        (string Name, bool Reverse, MetricDefinition Pps, MetricDefinition Loss)[] tests =
        [
            ("udp up", false, Metrics.UdpUpPps, Metrics.UdpUpLoss),
            ("udp down", true, Metrics.UdpDownPps, Metrics.UdpDownLoss),
        ];
        for (int run = 0; run < options.Runs; run++)
        {
            foreach (var test in tests)
            {
                EnsureAlive(client);
                try
                {
                    var spec = new Iperf3Test(options.DurationSeconds, test.Reverse, Udp: true, UdpLength: options.UdpLength, UdpBitrate: options.UdpBitrate);
                    Iperf3Result r = await Iperf3.RunAsync(t.ClientNamespace, t.InetAddress.ToString(), spec, ct);
                    results.Add(scope, test.Pps, r.ReceivedPacketsPerSecond);
                    results.Add(scope, test.Loss, r.LossPercent);
                    Log($"[{scope}] {test.Name} {Run(run, options.Runs)}: received {F(r.ReceivedPacketsPerSecond, "0")} pkt/s, lost {F(r.LossPercent, "0.0")} % of {r.Packets}");
                }
                catch (BenchException ex)
                {
                    results.AddError(scope, test.Pps, ex.Message);
                    Log($"[{scope}] {test.Name} {Run(run, options.Runs)} failed: {ex.Message}");
                }

                await Task.Delay(s_settle, ct);
            }
        }
    }
}
