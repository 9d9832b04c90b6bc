using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Configuration;

namespace Steer.Selection;

/// <summary>
/// Measures the round trip to many gateways (datacenters) at once: a few UDP probes to each gateway's DTLS port
/// (<see cref="ProbeMessage"/>), a TLS handshake when UDP gets no answer, and optionally an early decision once the
/// best gateways have answered (docs/selection.md). Every round is added to <see cref="History"/>.
/// </summary>
/// <example>
/// <code>
/// var prober = new DatacenterProber(new DatacenterProberOptions { EarlyDecision = true });
/// ProbeRound round = await prober.ProbeAsync(config.Gateways, current: "lab-1", ct);
/// SelectionDecision decision = selector.Select(prober.History.GetStats(config.Gateways), "lab-1");
/// </code>
/// </example>
public sealed partial class DatacenterProber
{
    private readonly DatacenterProberOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a prober.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <param name="history">Where rounds are recorded; null for a new <see cref="ProbeHistory"/> with default window.</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public DatacenterProber(DatacenterProberOptions? options = null, ProbeHistory? history = null, ILogger? logger = null)
    {
        _options = options ?? new DatacenterProberOptions();
        _options.Validate(nameof(options));
        History = history ?? new ProbeHistory(timeProvider: _options.TimeProvider);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The per-gateway sliding window every round is added to.</summary>
    public ProbeHistory History { get; }

    /// <summary>
    /// Probes <paramref name="gateways"/> concurrently and returns one result per gateway, after every gateway has
    /// finished or, with <see cref="DatacenterProberOptions.EarlyDecision"/>, as soon as the early-decision rule allows.
    /// Expected failures (no answer, refused, wrong pin) are results, not exceptions.
    /// </summary>
    /// <param name="gateways">The gateways to probe; names must be unique.</param>
    /// <param name="current">The gateway in use, if any: always probed to the end, never cut by an early decision.</param>
    /// <param name="cancellationToken">Cancels the round.</param>
    /// <returns>The round, also added to <see cref="History"/>.</returns>
    /// <exception cref="ArgumentException">A gateway name appears twice.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task<ProbeRound> ProbeAsync(IReadOnlyList<GatewayEndpoint> gateways, string? current = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (GatewayEndpoint gateway in gateways)
        {
            ArgumentNullException.ThrowIfNull(gateway, nameof(gateways));
            if (!names.Add(gateway.Name))
            {
                throw new ArgumentException($"Gateway name '{gateway.Name}' appears twice.", nameof(gateways));
            }
        }

        DateTimeOffset startedAt = _options.TimeProvider.GetUtcNow();
        using var round = new Round(_options, gateways, current, cancellationToken);
        var tasks = new Task<GatewayProbeResult>[gateways.Count];
        for (int i = 0; i < tasks.Length; i++)
        {
            tasks[i] = round.Probes[i].RunAsync();
        }

        GatewayProbeResult[] results = await Task.WhenAll(tasks).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();

        TimeSpan elapsed = round.DecidedAfter ?? Stopwatch.GetElapsedTime(round.Start);
        var probeRound = new ProbeRound
        {
            StartedAt = startedAt,
            Elapsed = elapsed,
            DecidedEarly = round.DecidedAfter is not null,
            Results = results,
        };
        History.Add(probeRound);
        SelectionLog.RoundCompleted(_logger, results.Length, elapsed.TotalMilliseconds, probeRound.DecidedEarly,
            results.Count(r => r.IsHealthy));
        foreach (GatewayProbeResult result in results)
        {
            SelectionLog.GatewayProbed(_logger, result.Name, result.State.ToWireName(), result.MinRtt?.TotalMilliseconds ?? double.NaN, result.Reason);
        }

        return probeRound;
    }
}
