using System.Diagnostics;
using Steer.Bench.Probes;
using Steer.Bench.Reporting;
using Steer.Lab;

namespace Steer.Bench;

internal sealed partial class LabBench
{
    private const double MiB = 1024 * 1024;

    /// <summary>
    /// Start time, <see cref="BenchOptions.Runs"/> times with a fresh <c>steer up</c> each: the clock starts just
    /// before the process is started; "connected" is when its status line says so; "first packet" is when the first
    /// TCP handshake with the inet HTTP server through the tunnel completes (<see cref="FirstConnectProbe"/>, started
    /// at the same moment). The idle RSS is read 1 s after "connected". Returns the last client still running when
    /// more sections follow, so they reuse it.
    /// </summary>
    /// <remarks>
    /// The first client of a fresh lab is started once without being measured: it would also time the lab's own first
    /// time (the gateway's first TLS handshakes and session, ARP on the veth pairs), which a client starting against a
    /// running datacenter does not pay — about 0.1 s on the lab machine.
    /// </remarks>
    private async Task<LabProcess?> MeasureStartAsync(SteerLab lab, string scope, string[] extra, CancellationToken ct)
    {
        bool keepLast = (options.Sections & (BenchSections.Ping | BenchSections.Tcp | BenchSections.Udp)) != BenchSections.None;
        string ns = lab.Topology.ClientNamespace;
        LabProcess? kept = null;
        if (!_labWarmedUp)
        {
            _labWarmedUp = true;
            await WarmUpLabAsync(lab, scope, extra, ct);
        }

        for (int run = 0; run < options.Runs; run++)
        {
            if (await FirstConnectProbe.CanConnectAsync(ns, HttpEndPoint(lab), ct))
            {
                results.AddError(scope, Metrics.StartFirstPacket, "the inet server was reachable before steer started (an earlier client did not clean up)");
                continue;
            }

            long start = Stopwatch.GetTimestamp();
            LabProcess client = lab.StartClient(NextClientName(scope), null, extra);
            Task<long?> probe = FirstConnectProbe.StartAsync(ns, HttpEndPoint(lab), s_firstPacketTimeout, ct);
            bool keep = false;
            try
            {
                await lab.WaitForClientStateAsync(client, "connected", ct);
                double connected = Seconds(start, Stopwatch.GetTimestamp());
                results.Add(scope, Metrics.StartConnected, connected);
                long? first = await probe;
                if (first is { } firstTimestamp)
                {
                    results.Add(scope, Metrics.StartFirstPacket, Seconds(start, firstTimestamp));
                }
                else
                {
                    results.AddError(scope, Metrics.StartFirstPacket, $"no TCP connect through the tunnel within {s_firstPacketTimeout.TotalSeconds:0} s");
                }

                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                EnsureAlive(client);
                double rss = ProcessSample.RssBytes(client.Id) / MiB;
                results.Add(scope, Metrics.RssIdle, rss);
                Log($"[{scope}] start {Run(run, options.Runs)}: connected after {F(connected, "0.000")} s, first packet through after " +
                    $"{(first is { } f ? F(Seconds(start, f), "0.000") + " s" : "-")}, idle RSS {F(rss, "0.0")} MiB");
                keep = keepLast && run == options.Runs - 1;
            }
            catch (Exception ex) when (ex is BenchException or TimeoutException or LabException)
            {
                results.AddError(scope, Metrics.StartConnected, ex.Message);
                Log($"[{scope}] start {Run(run, options.Runs)} failed: {ex.Message}");
                await ((Task)probe).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            finally
            {
                if (keep)
                {
                    kept = client;
                }
                else
                {
                    await StopClientAsync(client);
                }
            }
        }

        return kept;
    }

    /// <summary>Starts and stops one client, unmeasured, so the lab's first-time costs stay out of the start figures.</summary>
    private async Task WarmUpLabAsync(SteerLab lab, string scope, string[] extra, CancellationToken ct)
    {
        long start = Stopwatch.GetTimestamp();
        LabProcess client = lab.StartClient(NextClientName(scope), null, extra);
        try
        {
            await lab.WaitForClientStateAsync(client, "connected", ct);
            Log($"[{scope}] warm-up start (not measured): connected after {F(Seconds(start, Stopwatch.GetTimestamp()), "0.000")} s");
        }
        catch (Exception ex) when (ex is TimeoutException or LabException)
        {
            Log($"[{scope}] warm-up start failed (the measured runs will tell): {ex.Message}");
        }
        finally
        {
            await StopClientAsync(client);
        }
    }
}
