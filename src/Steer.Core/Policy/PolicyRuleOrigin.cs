namespace Steer.Policy;

/// <summary>Where a rule of a compiled policy came from, so that <c>steer policy explain</c> can say it.</summary>
public enum PolicyRuleOrigin
{
    /// <summary>The tenant configuration (<c>steering.include</c>, <c>steering.exclude</c>, <c>includeCidrs</c>, <c>excludeCidrs</c>).</summary>
    Configuration,

    /// <summary>The steering mode: "all traffic", or the web ports of <see cref="PolicyMode.Web"/>.</summary>
    Mode,

    /// <summary>What happens when no rule matches: direct in <see cref="PolicyMode.Web"/> and <see cref="PolicyMode.Listed"/>.</summary>
    Default,

    /// <summary>A gateway's own address: always direct, so that the tunnel cannot loop into itself.</summary>
    Gateway,

    /// <summary>A network the client is connected to, given at run time: always direct.</summary>
    ConnectedNetwork,

    /// <summary>Loopback, link-local, multicast or limited broadcast: never leaves the host or link, always direct.</summary>
    Reserved,
}
