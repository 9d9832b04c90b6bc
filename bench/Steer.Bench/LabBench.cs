using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Steer.Bench.Reporting;
using Steer.Lab;

namespace Steer.Bench;

/// <summary>
/// Runs the lab benchmark: builds a <see cref="SteerLab"/> (namespaces, real gateway, iperf3 and HTTP servers), measures
/// the plain routed path, then for each transport starts real <c>steer up</c> clients and measures through them.
/// Every load is bounded (iperf3 <c>-t</c>, <c>ping -c</c>, a 10 s connect loop) and goes only to the lab's namespaces.
/// </summary>
internal sealed partial class LabBench(BenchOptions options, BenchResults results, ILoggerFactory? loggerFactory)
{
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_firstPacketTimeout = TimeSpan.FromSeconds(10);
    private int _clientCounter;
    private bool _labWarmedUp;

    public async Task RunAsync(CancellationToken ct)
    {
        if (await LabTopology.CleanupStaleAsync(options.Prefix, cancellationToken: ct) is int removed and > 0)
        {
            Log($"removed {removed} namespace(s) left by an earlier run with prefix '{options.Prefix}'");
        }

        Log($"building the lab ({options.Prefix}client / gw / inet) with a real gateway, iperf3 and HTTP servers");
        await using SteerLab lab = await SteerLab.StartAsync(
            new SteerLabOptions { Prefix = options.Prefix, StartIperf3 = true }, loggerFactory, ct);
        Log($"steer: {lab.Steer}");

        if (options.Sections.HasFlag(BenchSections.Routed))
        {
            await MeasureRoutedAsync(lab, ct);
        }

        if ((options.Sections & ~BenchSections.Routed) == BenchSections.None)
        {
            return;
        }

        IReadOnlyList<string?> transports = options.Transports.Count == 0 ? [null] : [.. options.Transports];
        foreach (string? transport in transports)
        {
            await MeasureTransportAsync(lab, transport, ct);
        }
    }

    private async Task MeasureTransportAsync(SteerLab lab, string? transport, CancellationToken ct)
    {
        string scope = transport ?? "default";
        string[] extra = transport is null ? [] : ["--transport", transport];
        Log($"[{scope}] measuring through Steer{(transport is null ? " (no --transport: the client's default)" : $" with --transport {transport}")}");

        LabProcess? client = null;
        try
        {
            if (options.Sections.HasFlag(BenchSections.Start))
            {
                client = await MeasureStartAsync(lab, scope, extra, ct);
            }

            if ((options.Sections & (BenchSections.Ping | BenchSections.Tcp | BenchSections.Udp)) == BenchSections.None)
            {
                return;
            }

            if (client is null)
            {
                client = lab.StartClient(NextClientName(scope), null, extra);
                await lab.WaitForClientStateAsync(client, "connected", ct);
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }

            await CheckRoutesAsync(lab, ct);
            await NoteTransportAsync(lab, client, scope, transport, ct);
            if (options.Sections.HasFlag(BenchSections.Ping))
            {
                await MeasurePingAsync(lab, client, scope, ct);
            }

            if (options.Sections.HasFlag(BenchSections.Tcp))
            {
                await MeasureTcpAsync(lab, client, scope, ct);
            }

            if (options.Sections.HasFlag(BenchSections.Udp))
            {
                await MeasureUdpAsync(lab, client, scope, ct);
            }
        }
        finally
        {
            if (client is not null)
            {
                await StopClientAsync(client);
            }
        }
    }

    /// <summary>Notes the transport the client reports in its status (an "auto" client may have fallen back).</summary>
    private async Task NoteTransportAsync(SteerLab lab, LabProcess client, string scope, string? requested, CancellationToken ct)
    {
        try
        {
            JsonElement status = await lab.ClientStatusAsync(client.Name, ct);
            string actual = status.TryGetProperty("transport", out JsonElement t) ? t.GetString() ?? "?" : "?";
            results.AddNote(requested is not null && !string.Equals(actual, requested, StringComparison.OrdinalIgnoreCase)
                ? $"[{scope}] asked for --transport {requested} but the client reports transport '{actual}'"
                : $"[{scope}] the client reports transport '{actual}'");
        }
        catch (Exception ex) when (ex is LabException or JsonException or TimeoutException)
        {
            results.AddNote($"[{scope}] could not read the client's status: {ex.Message}");
        }
    }

    /// <summary>Warns when the direct path to the gateway would go through the tunnel (then "direct" is not direct).</summary>
    private async Task CheckRoutesAsync(SteerLab lab, CancellationToken ct)
    {
        LabCommandResult route = await LabProcess.RunAsync(
            lab.Topology.ClientNamespace, "ip", ["-4", "route", "get", lab.Topology.GatewayAddress.ToString()], TimeSpan.FromSeconds(5), ct);
        if (route.Succeeded && !route.StandardOutput.Contains($"dev {LabNames.ClientInterface}", StringComparison.Ordinal))
        {
            results.AddNote($"with Steer up, the client's route to the gateway is not via {LabNames.ClientInterface}: '{route.StandardOutput.Trim()}' (direct ping is not direct)");
        }
    }

    private string NextClientName(string scope) => string.Create(CultureInfo.InvariantCulture, $"bench-{scope}-{++_clientCounter}");

    private static async Task StopClientAsync(LabProcess client)
    {
        try
        {
            // SIGINT as a user would; the client then removes its TUN device and routes. Not cancellable: always clean up.
            await client.StopAsync(s_stopGrace, CancellationToken.None);
        }
        catch (TimeoutException)
        {
        }

        await client.DisposeAsync();
    }

    /// <summary>Throws when the client process has exited, with the tail of its output.</summary>
    private static void EnsureAlive(LabProcess client)
    {
        if (client.HasExited)
        {
            IReadOnlyList<string> lines = client.GetOutputLines();
            throw new BenchException($"the steer client exited ({client.ExitCode}); last output:\n{string.Join('\n', lines.Skip(Math.Max(0, lines.Count - 15)))}");
        }
    }

    private static IPEndPoint HttpEndPoint(SteerLab lab) => new(lab.Topology.InetAddress, LabNames.HttpPort);

    private static double Seconds(long fromTimestamp, long toTimestamp) => (toTimestamp - fromTimestamp) / (double)Stopwatch.Frequency;

    private static void Log(string message) => Console.Error.WriteLine($"bench: {message}");

    private static string Run(int run, int runs) => string.Create(CultureInfo.InvariantCulture, $"run {run + 1}/{runs}");

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
