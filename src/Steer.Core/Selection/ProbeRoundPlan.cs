using Steer.Configuration;

namespace Steer.Selection;

/// <summary>The next probe round of a <see cref="ProbeSchedule"/>: when, and which datacenters.</summary>
public sealed record ProbeRoundPlan
{
    /// <summary>When the round is due (now or in the past: at once).</summary>
    public required DateTimeOffset DueAt { get; init; }

    /// <summary>True when the round probes every datacenter.</summary>
    public required bool IsFull { get; init; }

    /// <summary>The datacenters to probe, in configuration order.</summary>
    public required IReadOnlyList<GatewayEndpoint> Gateways { get; init; }

    /// <summary>Why this round: <c>first round</c>, <c>network changed</c>, <c>all every 5 min</c>, <c>top 3 + current every 60 s</c>.</summary>
    public required string Reason { get; init; }
}
