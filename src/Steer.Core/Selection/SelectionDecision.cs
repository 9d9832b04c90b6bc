using Steer.Configuration;

namespace Steer.Selection;

/// <summary>The result of <see cref="DatacenterSelector.Select"/>: which datacenter to use and why.</summary>
public sealed record SelectionDecision
{
    /// <summary>The datacenter to use; null only for <see cref="SelectionOutcome.NoneAvailable"/>.</summary>
    public GatewayEndpoint? Chosen { get; init; }

    /// <summary>The current datacenter given to the selector, if any.</summary>
    public string? Previous { get; init; }

    /// <summary>What kind of decision this is.</summary>
    public required SelectionOutcome Outcome { get; init; }

    /// <summary>
    /// A human explanation, for <c>steer status</c> and <c>steer probe</c>, for example
    /// <c>lab-2 chosen: 12.1 ms vs lab-1 48.3 ms (≥10 ms and ≤2/3)</c> or <c>kept lab-1: lab-3 only 3.2 ms faster</c>.
    /// </summary>
    public required string Reason { get; init; }

    /// <summary>The window-minimum RTT of <see cref="Chosen"/>; null when it has none.</summary>
    public TimeSpan? ChosenRtt { get; init; }

    /// <summary>The best other healthy datacenter that was considered; null when none.</summary>
    public GatewayEndpoint? Candidate { get; init; }

    /// <summary>The window-minimum RTT of <see cref="Candidate"/>.</summary>
    public TimeSpan? CandidateRtt { get; init; }

    /// <summary>Consecutive rounds in which the switch condition held (0 when it does not hold now).</summary>
    public int ConsecutiveRounds { get; init; }

    /// <summary>True when <see cref="Chosen"/> differs from <see cref="Previous"/> and there was a previous one: reconnect.</summary>
    public bool IsSwitch => Chosen is not null && Previous is not null && !string.Equals(Chosen.Name, Previous, StringComparison.Ordinal);
}
