using System.Globalization;
using Steer.Configuration;

namespace Steer.Selection;

/// <summary>
/// When to probe which datacenters: all of them every <see cref="ProbeScheduleOptions.FullInterval"/>, the fastest
/// <see cref="ProbeScheduleOptions.PartialCount"/> plus the current one every <see cref="ProbeScheduleOptions.PartialInterval"/>
/// in between, and all of them at once after <see cref="NetworkChanged"/>. Thread-safe.
/// </summary>
/// <example>
/// <code>
/// while (!ct.IsCancellationRequested)
/// {
///     ProbeRoundPlan plan = schedule.GetNextRound(history.GetStats(gateways), current);
///     await schedule.WaitAsync(plan, ct);                       // returns early on NetworkChanged()
///     plan = schedule.GetNextRound(history.GetStats(gateways), current);
///     await prober.ProbeAsync(plan.Gateways, current, ct);
///     schedule.RoundCompleted(plan);
///     decision = selector.Select(history.GetStats(gateways), current, health);
/// }
/// </code>
/// </example>
public sealed class ProbeSchedule
{
    private readonly ProbeScheduleOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private DateTimeOffset? _lastFull;
    private DateTimeOffset? _lastRound;
    private bool _networkChanged;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates a schedule whose first round is full and due at once.</summary>
    /// <param name="options">The intervals; null for the defaults (5 min, 60 s, top 3).</param>
    /// <param name="timeProvider">The clock; null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public ProbeSchedule(ProbeScheduleOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new ProbeScheduleOptions();
        _options.Validate(nameof(options));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The next round: due time, full or partial, and the datacenters to probe.</summary>
    /// <param name="gateways">The window statistics of every configured gateway, in configuration order.</param>
    /// <param name="current">The datacenter in use; always in a partial round.</param>
    /// <returns>The plan.</returns>
    public ProbeRoundPlan GetNextRound(IReadOnlyList<GatewayWindowStats> gateways, string? current)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        DateTimeOffset now = _time.GetUtcNow();
        IReadOnlyList<GatewayEndpoint> all = gateways.Select(g => g.Gateway).ToArray();
        lock (_lock)
        {
            if (_lastFull is null || _networkChanged)
            {
                return new ProbeRoundPlan
                {
                    DueAt = now,
                    IsFull = true,
                    Gateways = all,
                    Reason = _networkChanged ? "network changed" : "first round",
                };
            }

            DateTimeOffset nextFull = _lastFull.Value + _options.FullInterval;
            DateTimeOffset nextPartial = (_lastRound ?? _lastFull.Value) + _options.PartialInterval;
            if (nextFull <= nextPartial)
            {
                return new ProbeRoundPlan
                {
                    DueAt = nextFull,
                    IsFull = true,
                    Gateways = all,
                    Reason = $"all every {Describe(_options.FullInterval)}",
                };
            }

            var top = gateways
                .Select((stats, index) => (stats, index))
                .Where(g => g.stats.IsHealthy)
                .OrderBy(g => g.stats.WindowMinRtt)
                .ThenBy(g => g.index)
                .Take(_options.PartialCount)
                .Select(g => g.stats.Name)
                .ToHashSet(StringComparer.Ordinal);
            if (current is not null)
            {
                top.Add(current);
            }

            GatewayEndpoint[] chosen = gateways.Where(g => top.Contains(g.Name)).Select(g => g.Gateway).ToArray();
            return new ProbeRoundPlan
            {
                DueAt = nextPartial,
                IsFull = chosen.Length == all.Count,
                Gateways = chosen,
                Reason = $"top {_options.PartialCount}{(current is null ? "" : " + current")} every {Describe(_options.PartialInterval)}",
            };
        }
    }

    /// <summary>Records that a planned round was probed (now).</summary>
    /// <param name="plan">The plan that was probed.</param>
    public void RoundCompleted(ProbeRoundPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            _lastRound = now;
            if (plan.IsFull)
            {
                _lastFull = now;
                _networkChanged = false;
            }
        }
    }

    /// <summary>The network changed (new address, interface or default route): the next round probes all datacenters at once.</summary>
    public void NetworkChanged()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _networkChanged = true;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>Waits until <paramref name="plan"/> is due, or until <see cref="NetworkChanged"/> is called.</summary>
    /// <param name="plan">The plan from <see cref="GetNextRound"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when it is time to call <see cref="GetNextRound"/> again and probe.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task WaitAsync(ProbeRoundPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Task changed;
        lock (_lock)
        {
            if (_networkChanged)
            {
                return;
            }

            changed = _changed.Task;
        }

        TimeSpan delay = plan.DueAt - _time.GetUtcNow();
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task timer = Task.Delay(delay, _time, cts.Token);
        await Task.WhenAny(timer, changed).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static string Describe(TimeSpan interval) => interval.TotalSeconds >= 120 && interval.TotalSeconds % 60 == 0
        ? interval.TotalMinutes.ToString("0", CultureInfo.InvariantCulture) + " min"
        : interval.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
