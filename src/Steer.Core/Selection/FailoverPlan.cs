using Steer.Configuration;

namespace Steer.Selection;

/// <summary>The datacenters to try, in order, after the active one failed (<see cref="FailoverPlanner.Plan"/>).</summary>
public sealed record FailoverPlan
{
    /// <summary>The datacenters to try, best first; empty when every datacenter is ruled out.</summary>
    public required IReadOnlyList<GatewayEndpoint> Gateways { get; init; }

    /// <summary>The datacenters left out, with the reason.</summary>
    public required IReadOnlyList<FailoverExclusion> Excluded { get; init; }

    /// <summary>One line for logs, for example <c>lab-2 (12.1 ms), lab-3 (not probed), lab-1 (just failed); excluded: lab-4 (wrong pin)</c>.</summary>
    public required string Description { get; init; }
}
