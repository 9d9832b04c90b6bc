using Steer.Configuration;

namespace Steer.Selection;

/// <summary>
/// The sliding window of probe results of each gateway: the last <see cref="ProbeHistoryOptions.WindowRounds"/>
/// rounds that probed it, no older than <see cref="ProbeHistoryOptions.WindowDuration"/>. Thread-safe.
/// </summary>
/// <remarks>
/// The window minimum is what the selector compares: one slow sample does not make a gateway look slow, and one
/// lucky sample stays for at most a window. Clear the history when the network changes: latencies measured on the
/// previous network say nothing about the new one.
/// </remarks>
public sealed class ProbeHistory
{
    private readonly ProbeHistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<Entry>> _windows = new(StringComparer.Ordinal);

    /// <summary>Creates an empty history.</summary>
    /// <param name="options">The window size; null for the defaults (5 rounds, 5 minutes).</param>
    /// <param name="timeProvider">The clock that ages rounds out; null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public ProbeHistory(ProbeHistoryOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new ProbeHistoryOptions();
        _options.Validate(nameof(options));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Adds every result of a round to its gateway's window.</summary>
    /// <param name="round">The round.</param>
    public void Add(ProbeRound round)
    {
        ArgumentNullException.ThrowIfNull(round);
        foreach (GatewayProbeResult result in round.Results)
        {
            Add(result, round.StartedAt);
        }
    }

    /// <summary>Adds one result to its gateway's window.</summary>
    /// <param name="result">The result.</param>
    /// <param name="probedAt">When it was measured.</param>
    public void Add(GatewayProbeResult result, DateTimeOffset probedAt)
    {
        ArgumentNullException.ThrowIfNull(result);
        lock (_lock)
        {
            if (!_windows.TryGetValue(result.Name, out Queue<Entry>? window))
            {
                window = new Queue<Entry>(_options.WindowRounds + 1);
                _windows.Add(result.Name, window);
            }

            window.Enqueue(new Entry(probedAt, result));
            while (window.Count > _options.WindowRounds)
            {
                window.Dequeue();
            }
        }
    }

    /// <summary>Forgets everything, for example after a network change.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _windows.Clear();
        }
    }

    /// <summary>The window statistics of one gateway (<see cref="ProbeState.NotProbed"/> when nothing is known).</summary>
    /// <param name="gateway">The gateway.</param>
    /// <returns>The statistics.</returns>
    public GatewayWindowStats GetStats(GatewayEndpoint gateway)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        DateTimeOffset oldest = _time.GetUtcNow() - _options.WindowDuration;
        lock (_lock)
        {
            return GetStatsLocked(gateway, oldest);
        }
    }

    /// <summary>The window statistics of several gateways, in the same order (keep the configuration order: it breaks ties).</summary>
    /// <param name="gateways">The gateways.</param>
    /// <returns>One entry per gateway.</returns>
    public IReadOnlyList<GatewayWindowStats> GetStats(IReadOnlyList<GatewayEndpoint> gateways)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        DateTimeOffset oldest = _time.GetUtcNow() - _options.WindowDuration;
        var stats = new GatewayWindowStats[gateways.Count];
        lock (_lock)
        {
            for (int i = 0; i < stats.Length; i++)
            {
                stats[i] = GetStatsLocked(gateways[i], oldest);
            }
        }

        return stats;
    }

    private GatewayWindowStats GetStatsLocked(GatewayEndpoint gateway, DateTimeOffset oldest)
    {
        if (!_windows.TryGetValue(gateway.Name, out Queue<Entry>? window))
        {
            return new GatewayWindowStats { Gateway = gateway };
        }

        while (window.Count > 0 && window.Peek().At < oldest)
        {
            window.Dequeue();
        }

        if (window.Count == 0)
        {
            return new GatewayWindowStats { Gateway = gateway };
        }

        TimeSpan? min = null;
        int healthy = 0;
        int failures = 0;
        Entry last = default;
        foreach (Entry entry in window)
        {
            last = entry;
            if (entry.Result.IsHealthy)
            {
                healthy++;
                failures = 0;
                if (entry.Result.MinRtt is TimeSpan rtt && (min is null || rtt < min))
                {
                    min = rtt;
                }
            }
            else if (entry.Result.State != ProbeState.Slow)
            {
                failures++;
            }
        }

        return new GatewayWindowStats
        {
            Gateway = gateway,
            LastState = last.Result.State,
            LastReason = last.Result.Reason,
            LastResult = last.Result,
            LastProbedAt = last.At,
            WindowMinRtt = min,
            Rounds = window.Count,
            HealthyRounds = healthy,
            ConsecutiveFailures = failures,
        };
    }

    private readonly record struct Entry(DateTimeOffset At, GatewayProbeResult Result);
}
