using Steer.Configuration;

namespace Steer.Selection;

/// <summary>Orders the datacenters to try when the active one fails (docs/selection.md).</summary>
public static class FailoverPlanner
{
    /// <summary>
    /// The datacenters to try, in order: healthy by window-minimum RTT; then not probed; then the ones that were slow to
    /// answer; then the ones whose last probe failed (a probe can fail while a connect works); the one that just failed
    /// last. Ties: priority, then configuration order. Left out: a wrong key pin, and an open or isolated circuit breaker.
    /// </summary>
    /// <param name="gateways">The window statistics of every configured gateway, in configuration order.</param>
    /// <param name="health">The circuit breakers; null when none is used.</param>
    /// <param name="failed">The datacenter that just failed; tried last (if not ruled out).</param>
    /// <param name="priority">The configured priority, lower first; null: configuration order only.</param>
    /// <returns>The plan.</returns>
    public static FailoverPlan Plan(IReadOnlyList<GatewayWindowStats> gateways, GatewayHealthRegistry? health = null, string? failed = null,
        Func<GatewayEndpoint, int>? priority = null)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        var ranked = new List<(GatewayWindowStats Stats, int Tier, int Priority, int Index, string Note)>();
        var excluded = new List<FailoverExclusion>();
        for (int i = 0; i < gateways.Count; i++)
        {
            GatewayWindowStats stats = gateways[i];
            if (stats.LastState == ProbeState.WrongPin)
            {
                excluded.Add(new FailoverExclusion(stats.Gateway, "wrong pin"));
                continue;
            }

            if (health is not null && !health.IsAvailable(stats.Name))
            {
                excluded.Add(new FailoverExclusion(stats.Gateway, health.Get(stats.Name).Describe()));
                continue;
            }

            (int tier, string note) = string.Equals(stats.Name, failed, StringComparison.Ordinal)
                ? (4, "just failed")
                : stats.IsHealthy
                    ? (0, DatacenterSelector.Ms(stats.WindowMinRtt))
                    : stats.LastState switch
                    {
                        ProbeState.NotProbed => (1, "not probed"),
                        ProbeState.Slow => (2, "slow"),
                        _ => (3, stats.LastState.ToWireName()),
                    };
            ranked.Add((stats, tier, priority?.Invoke(stats.Gateway) ?? 0, i, note));
        }

        ranked.Sort((a, b) =>
        {
            int c = a.Tier.CompareTo(b.Tier);
            if (c == 0 && a.Tier == 0)
            {
                c = Nullable.Compare(a.Stats.WindowMinRtt, b.Stats.WindowMinRtt);
            }

            if (c == 0)
            {
                c = a.Priority.CompareTo(b.Priority);
            }

            return c != 0 ? c : a.Index.CompareTo(b.Index);
        });

        string description = ranked.Count == 0 ? "nothing to try" : string.Join(", ", ranked.Select(r => $"{r.Stats.Name} ({r.Note})"));
        if (excluded.Count > 0)
        {
            description += "; excluded: " + string.Join(", ", excluded.Select(e => $"{e.Gateway.Name} ({e.Reason})"));
        }

        return new FailoverPlan
        {
            Gateways = ranked.Select(r => r.Stats.Gateway).ToArray(),
            Excluded = excluded,
            Description = description,
        };
    }
}
