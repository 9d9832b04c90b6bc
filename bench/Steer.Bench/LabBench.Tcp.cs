using Steer.Bench.Probes;
using Steer.Bench.Reporting;
using Steer.Lab;

namespace Steer.Bench;

internal sealed partial class LabBench
{
    /// <summary>Pause between two iperf3 runs, so queues drain and the iperf3 server is ready again.</summary>
    private static readonly TimeSpan s_settle = TimeSpan.FromMilliseconds(500);

    private static readonly (string Name, bool Reverse, int Streams, MetricDefinition Throughput, MetricDefinition? ClientCpu, MetricDefinition? GatewayCpu)[] s_tcpTests =
    [
        ("tcp1 up", false, 1, Metrics.Tcp1Up, Metrics.ClientCpuUp, Metrics.GatewayCpuUp),
        ("tcp1 down", true, 1, Metrics.Tcp1Down, Metrics.ClientCpuDown, Metrics.GatewayCpuDown),
        ("tcp4 up", false, 4, Metrics.Tcp4Up, null, null),
        ("tcp4 down", true, 4, Metrics.Tcp4Down, null, null),
    ];

    /// <summary>
    /// iperf3 TCP through the tunnel: 1 and 4 streams, both directions, interleaved (each run does every test once,
    /// so a burst of other work on the machine spreads over the tests instead of spoiling one). Around each 1-stream
    /// run, the CPU time (user + system) of the client and gateway processes is read from /proc and divided by the
    /// bytes carried; during every run the client's VmRSS is sampled every 100 ms.
    /// </summary>
    private async Task MeasureTcpAsync(SteerLab lab, LabProcess client, string scope, CancellationToken ct)
    {
        LabTopology t = lab.Topology;
        int gatewayPid = lab.Gateway?.Id ?? throw new BenchException("the lab has no gateway process");
        for (int run = 0; run < options.Runs; run++)
        {
            long maxRss = -1;
            foreach (var test in s_tcpTests)
            {
                EnsureAlive(client);
                double clientCpu0 = ProcessSample.CpuSeconds(client.Id);
                double gatewayCpu0 = ProcessSample.CpuSeconds(gatewayPid);
                Iperf3Result r;
                await using (var rss = new RssSampler(client.Id))
                {
                    try
                    {
                        r = await Iperf3.RunAsync(t.ClientNamespace, t.InetAddress.ToString(), new Iperf3Test(options.DurationSeconds, test.Reverse, test.Streams), ct);
                    }
                    catch (BenchException ex)
                    {
                        results.AddError(scope, test.Throughput, ex.Message);
                        Log($"[{scope}] {test.Name} {Run(run, options.Runs)} failed: {ex.Message}");
                        await Task.Delay(s_settle, ct);
                        continue;
                    }
                    finally
                    {
                        maxRss = Math.Max(maxRss, rss.MaxBytes);
                    }
                }

                double clientCpu = ProcessSample.CpuSeconds(client.Id) - clientCpu0;
                double gatewayCpu = ProcessSample.CpuSeconds(gatewayPid) - gatewayCpu0;
                double gigabytes = r.Bytes / 1e9;
                results.Add(scope, test.Throughput, r.BitsPerSecond / 1e6);
                string cpuText = "";
                if (test.ClientCpu is not null && test.GatewayCpu is not null && gigabytes > 0)
                {
                    results.Add(scope, test.ClientCpu, clientCpu / gigabytes);
                    results.Add(scope, test.GatewayCpu, gatewayCpu / gigabytes);
                    cpuText = $", CPU/GB client {F(clientCpu / gigabytes, "0.00")} s gateway {F(gatewayCpu / gigabytes, "0.00")} s";
                }

                Log($"[{scope}] {test.Name} {Run(run, options.Runs)}: {F(r.BitsPerSecond / 1e6, "0")} Mbit/s, {r.Retransmits} retransmits{cpuText}");
                await Task.Delay(s_settle, ct);
            }

            if (maxRss > 0)
            {
                results.Add(scope, Metrics.RssLoad, maxRss / MiB);
            }
        }
    }
}
