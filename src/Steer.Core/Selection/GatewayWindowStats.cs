using Steer.Configuration;

namespace Steer.Selection;

/// <summary>
/// What the sliding window of a <see cref="ProbeHistory"/> knows about one gateway: the last result and the minimum
/// RTT over the window. The input of <see cref="DatacenterSelector"/> and <see cref="FailoverPlanner"/>.
/// </summary>
public sealed record GatewayWindowStats
{
    /// <summary>The gateway.</summary>
    public required GatewayEndpoint Gateway { get; init; }

    /// <summary>The gateway's name.</summary>
    public string Name => Gateway.Name;

    /// <summary>The state of the last round that probed it; <see cref="ProbeState.NotProbed"/> when none in the window.</summary>
    public ProbeState LastState { get; init; }

    /// <summary>The reason of the last result; null when not probed.</summary>
    public string? LastReason { get; init; }

    /// <summary>The last result; null when not probed.</summary>
    public GatewayProbeResult? LastResult { get; init; }

    /// <summary>When it was last probed (start of that round); null when not probed.</summary>
    public DateTimeOffset? LastProbedAt { get; init; }

    /// <summary>The smallest RTT of the healthy rounds in the window; null when none.</summary>
    public TimeSpan? WindowMinRtt { get; init; }

    /// <summary>Rounds in the window.</summary>
    public int Rounds { get; init; }

    /// <summary>Rounds in the window whose result was healthy.</summary>
    public int HealthyRounds { get; init; }

    /// <summary>
    /// The latest rounds in a row whose result was unhealthy (<see cref="ProbeState.Slow"/> rounds are skipped: neither
    /// healthy nor a failure).
    /// </summary>
    public int ConsecutiveFailures { get; init; }

    /// <summary>True when the last result was healthy and the window has an RTT: a candidate for selection.</summary>
    public bool IsHealthy => LastState.IsHealthy() && WindowMinRtt is not null;
}
