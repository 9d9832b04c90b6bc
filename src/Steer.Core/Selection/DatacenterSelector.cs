using System.Globalization;
using Steer.Configuration;

namespace Steer.Selection;

/// <summary>
/// Chooses the datacenter to use from the probe windows, with hysteresis (docs/selection.md): a healthy current
/// datacenter is kept unless a candidate's window-minimum RTT is at least <see cref="DatacenterSelectorOptions.MinImprovement"/>
/// lower and at most <see cref="DatacenterSelectorOptions.MaxRatio"/> of the current one, in
/// <see cref="DatacenterSelectorOptions.RequiredRounds"/> consecutive rounds; an unhealthy or ruled-out current one is
/// replaced at once by the best healthy one. Thread-safe; keeps the count of consecutive rounds between calls.
/// </summary>
/// <remarks>
/// Call <see cref="Select"/> once after each probe round. A call whose statistics carry no newer probe than the previous
/// call's does not count as another round.
/// </remarks>
public sealed class DatacenterSelector
{
    private readonly DatacenterSelectorOptions _options;
    private readonly Lock _lock = new();
    private string? _pendingCurrent;
    private int _pendingRounds;
    private DateTimeOffset _lastRound = DateTimeOffset.MinValue;

    /// <summary>Creates a selector.</summary>
    /// <param name="options">The hysteresis thresholds; null for the defaults (10 ms, 2/3, 2 rounds).</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public DatacenterSelector(DatacenterSelectorOptions? options = null)
    {
        _options = options ?? new DatacenterSelectorOptions();
        _options.Validate(nameof(options));
    }

    /// <summary>Forgets the count of consecutive rounds, for example after a network change.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _pendingCurrent = null;
            _pendingRounds = 0;
            _lastRound = DateTimeOffset.MinValue;
        }
    }

    /// <summary>Chooses a datacenter.</summary>
    /// <param name="gateways">The window statistics of every configured gateway, in configuration order (<see cref="ProbeHistory.GetStats(IReadOnlyList{GatewayEndpoint})"/>).</param>
    /// <param name="current">The name of the datacenter in use; null when none.</param>
    /// <param name="health">The circuit breakers; a gateway whose breaker is open is not a candidate. Null: none is ruled out.</param>
    /// <returns>The decision and its reason.</returns>
    public SelectionDecision Select(IReadOnlyList<GatewayWindowStats> gateways, string? current, GatewayHealthRegistry? health = null)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        lock (_lock)
        {
            DateTimeOffset newest = DateTimeOffset.MinValue;
            foreach (GatewayWindowStats stats in gateways)
            {
                if (stats.LastProbedAt is DateTimeOffset at && at > newest)
                {
                    newest = at;
                }
            }

            bool newRound = newest > _lastRound;
            if (newRound)
            {
                _lastRound = newest;
            }

            if (!string.Equals(_pendingCurrent, current, StringComparison.Ordinal))
            {
                _pendingCurrent = current;
                _pendingRounds = 0;
            }

            return SelectLocked(gateways, current, health, newRound);
        }
    }

    private SelectionDecision SelectLocked(IReadOnlyList<GatewayWindowStats> gateways, string? current, GatewayHealthRegistry? health, bool newRound)
    {
        var candidates = new List<(GatewayWindowStats Stats, int Index)>();
        (GatewayWindowStats Stats, int Index)? currentEntry = null;
        for (int i = 0; i < gateways.Count; i++)
        {
            GatewayWindowStats stats = gateways[i];
            if (string.Equals(stats.Name, current, StringComparison.Ordinal))
            {
                currentEntry = (stats, i);
            }
            else if (stats.IsHealthy && (health?.IsAvailable(stats.Name) ?? true))
            {
                candidates.Add((stats, i));
            }
        }

        candidates.Sort((a, b) => Compare(a.Stats, a.Index, b.Stats, b.Index));
        (GatewayWindowStats Stats, int Index)? best = candidates.Count > 0 ? candidates[0] : null;

        if (currentEntry is null)
        {
            _pendingRounds = 0;
            if (best is not { } first)
            {
                return Unmeasured(gateways, current, health, null);
            }

            string reason = $"{first.Stats.Name} chosen: lowest RTT {Ms(first.Stats.WindowMinRtt)}";
            if (candidates.Count > 1)
            {
                reason += $" (next {candidates[1].Stats.Name} {Ms(candidates[1].Stats.WindowMinRtt)})";
            }

            return new SelectionDecision
            {
                Chosen = first.Stats.Gateway,
                Previous = current,
                Outcome = SelectionOutcome.Initial,
                Reason = reason,
                ChosenRtt = first.Stats.WindowMinRtt,
                Candidate = candidates.Count > 1 ? candidates[1].Stats.Gateway : null,
                CandidateRtt = candidates.Count > 1 ? candidates[1].Stats.WindowMinRtt : null,
            };
        }

        GatewayWindowStats cur = currentEntry.Value.Stats;
        string? ruledOut = health is not null && !health.IsAvailable(cur.Name) ? health.Get(cur.Name).Describe() : null;
        bool unhealthy = ruledOut is not null || (cur.LastState != ProbeState.NotProbed && !cur.IsHealthy);
        if (unhealthy)
        {
            _pendingRounds = 0;
            string why = ruledOut ?? $"{cur.LastState.ToWireName()}: {cur.LastReason}";
            if (best is { } replacement)
            {
                return new SelectionDecision
                {
                    Chosen = replacement.Stats.Gateway,
                    Previous = current,
                    Outcome = SelectionOutcome.Failover,
                    Reason = $"{replacement.Stats.Name} chosen: {cur.Name} unhealthy ({why}); {replacement.Stats.Name} {Ms(replacement.Stats.WindowMinRtt)}",
                    ChosenRtt = replacement.Stats.WindowMinRtt,
                    Candidate = replacement.Stats.Gateway,
                    CandidateRtt = replacement.Stats.WindowMinRtt,
                };
            }

            if (ruledOut is null && cur.LastState != ProbeState.WrongPin)
            {
                return Kept(cur, current, $"kept {cur.Name}: no healthy alternative ({cur.Name} {why})");
            }

            return Unmeasured(gateways, current, health, cur.Name);
        }

        if (cur.LastState == ProbeState.NotProbed)
        {
            _pendingRounds = 0;
            return Kept(cur, current, $"kept {cur.Name}: not probed yet");
        }

        TimeSpan curRtt = cur.WindowMinRtt!.Value;
        if (best is not { } challenger)
        {
            _pendingRounds = 0;
            return Kept(cur, current, $"kept {cur.Name} ({Ms(curRtt)}): no other healthy datacenter");
        }

        TimeSpan candRtt = challenger.Stats.WindowMinRtt!.Value;
        TimeSpan gain = curRtt - candRtt;
        bool condition = gain >= _options.MinImprovement && candRtt.Ticks <= curRtt.Ticks * _options.MaxRatio;
        if (!condition)
        {
            _pendingRounds = 0;
            string reason = gain <= TimeSpan.Zero
                ? $"kept {cur.Name}: fastest ({Ms(curRtt)}; next {challenger.Stats.Name} {Ms(candRtt)})"
                : gain < _options.MinImprovement
                    ? $"kept {cur.Name}: {challenger.Stats.Name} only {Ms(gain)} faster"
                    : $"kept {cur.Name}: {challenger.Stats.Name} {Ms(gain)} faster but {Ms(candRtt)} is not ≤{Ratio()} of {Ms(curRtt)}";
            return Kept(cur, current, reason) with { Candidate = challenger.Stats.Gateway, CandidateRtt = candRtt };
        }

        if (newRound || _pendingRounds == 0)
        {
            _pendingRounds++;
        }

        string thresholds = $"(≥{_options.MinImprovement.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture)} ms and ≤{Ratio()})";
        if (_pendingRounds >= _options.RequiredRounds)
        {
            int rounds = _pendingRounds;
            _pendingRounds = 0;
            _pendingCurrent = challenger.Stats.Name;
            return new SelectionDecision
            {
                Chosen = challenger.Stats.Gateway,
                Previous = current,
                Outcome = SelectionOutcome.Switched,
                Reason = $"{challenger.Stats.Name} chosen: {Ms(candRtt)} vs {cur.Name} {Ms(curRtt)} {thresholds}",
                ChosenRtt = candRtt,
                Candidate = challenger.Stats.Gateway,
                CandidateRtt = candRtt,
                ConsecutiveRounds = rounds,
            };
        }

        return Kept(cur, current,
            $"kept {cur.Name} ({Ms(curRtt)}): {challenger.Stats.Name} {Ms(candRtt)} is faster {thresholds}, round {_pendingRounds} of {_options.RequiredRounds}")
            with { Candidate = challenger.Stats.Gateway, CandidateRtt = candRtt, ConsecutiveRounds = _pendingRounds };
    }

    private static SelectionDecision Kept(GatewayWindowStats current, string? previous, string reason) => new()
    {
        Chosen = current.Gateway,
        Previous = previous,
        Outcome = SelectionOutcome.Kept,
        Reason = reason,
        ChosenRtt = current.WindowMinRtt,
    };

    /// <summary>No healthy measurement to go by: first by priority and order among the gateways not ruled out.</summary>
    private SelectionDecision Unmeasured(IReadOnlyList<GatewayWindowStats> gateways, string? current, GatewayHealthRegistry? health, string? exclude)
    {
        GatewayWindowStats? chosen = null;
        int chosenPriority = 0;
        var ruledOut = new List<string>();
        foreach (GatewayWindowStats stats in gateways)
        {
            string? why = stats.LastState == ProbeState.WrongPin
                ? "wrong pin"
                : health is not null && !health.IsAvailable(stats.Name) ? health.Get(stats.Name).Describe() : null;
            if (why is not null)
            {
                ruledOut.Add($"{stats.Name} {why}");
                continue;
            }

            if (string.Equals(stats.Name, exclude, StringComparison.Ordinal))
            {
                continue;
            }

            int priority = _options.Priority?.Invoke(stats.Gateway) ?? 0;
            if (chosen is null || priority < chosenPriority)
            {
                chosen = stats;
                chosenPriority = priority;
            }
        }

        if (chosen is null)
        {
            return new SelectionDecision
            {
                Previous = current,
                Outcome = SelectionOutcome.NoneAvailable,
                Reason = ruledOut.Count == 0 ? "no datacenter configured" : $"no datacenter available: {string.Join(", ", ruledOut)}",
            };
        }

        string basis = _options.Priority is null ? "configuration order" : "priority";
        return new SelectionDecision
        {
            Chosen = chosen.Gateway,
            Previous = current,
            Outcome = SelectionOutcome.Unmeasured,
            Reason = $"{chosen.Name} chosen by {basis}: no healthy datacenter measured",
        };
    }

    private int Compare(GatewayWindowStats a, int indexA, GatewayWindowStats b, int indexB)
    {
        int byRtt = Nullable.Compare(a.WindowMinRtt, b.WindowMinRtt);
        if (byRtt != 0)
        {
            return byRtt;
        }

        int byPriority = (_options.Priority?.Invoke(a.Gateway) ?? 0).CompareTo(_options.Priority?.Invoke(b.Gateway) ?? 0);
        return byPriority != 0 ? byPriority : indexA.CompareTo(indexB);
    }

    private string Ratio() => Math.Abs(_options.MaxRatio - (2.0 / 3.0)) < 1e-9
        ? "2/3"
        : _options.MaxRatio.ToString("0.##", CultureInfo.InvariantCulture);

    internal static string Ms(TimeSpan? value) =>
        value is TimeSpan v ? v.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms" : "n/a";
}
