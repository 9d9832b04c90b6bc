namespace Steer.Selection;

/// <summary>What kind of decision a <see cref="DatacenterSelector"/> took.</summary>
public enum SelectionOutcome
{
    /// <summary>No current datacenter: the healthy one with the lowest RTT was chosen.</summary>
    Initial,

    /// <summary>The current datacenter stays (healthy, and no candidate met the hysteresis condition long enough).</summary>
    Kept,

    /// <summary>A clearly faster datacenter replaces the healthy current one (the hysteresis condition held).</summary>
    Switched,

    /// <summary>The current datacenter is unhealthy or ruled out: the best healthy one was chosen at once.</summary>
    Failover,

    /// <summary>No datacenter has a measurement: the chosen one is the first by priority and configuration order.</summary>
    Unmeasured,

    /// <summary>No datacenter can be used at all (all ruled out); <see cref="SelectionDecision.Chosen"/> is null.</summary>
    NoneAvailable,
}
