namespace Steer.Policy;

/// <summary>Where a destination goes and the rule that decided it.</summary>
/// <param name="Action">Tunnel or direct.</param>
/// <param name="Rule">The rule that decided: a configured rule, a mode rule, a built-in exclusion or the default.</param>
public readonly record struct PolicyDecision(PolicyAction Action, PolicyRule Rule)
{
    /// <summary>True when the destination goes through the tunnel.</summary>
    public bool IsTunnel => Action == PolicyAction.Tunnel;

    /// <summary>Returns "tunnel (include 10.0.0.0/8)" or "direct (gateway 203.0.113.10)".</summary>
    /// <returns>The action and the deciding rule.</returns>
    public override string ToString() => $"{(IsTunnel ? "tunnel" : "direct")} ({Rule})";
}
