namespace Steer.Selection;

/// <summary>One probe round over several gateways (<see cref="DatacenterProber.ProbeAsync"/>).</summary>
public sealed record ProbeRound
{
    /// <summary>When the round started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Time from the start of the round to its result: the early decision, or the last gateway's result.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>True when the round ended by the early-decision rule before every gateway had finished.</summary>
    public bool DecidedEarly { get; init; }

    /// <summary>One result per probed gateway, in the order the gateways were given.</summary>
    public required IReadOnlyList<GatewayProbeResult> Results { get; init; }
}
