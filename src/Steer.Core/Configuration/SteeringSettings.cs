using System.Net;
using Steer.Policy;

namespace Steer.Configuration;

/// <summary>Which destinations the client steers through the gateway (JSON <c>steering</c>).</summary>
public sealed class SteeringSettings
{
    private readonly PolicyMode? _policyMode;

    /// <summary>The networks of a full tunnel: 0.0.0.0/0 and ::/0.</summary>
    public static IReadOnlyList<IPNetwork> AllNetworks { get; } =
        Array.AsReadOnly([new IPNetwork(IPAddress.Any, 0), new IPNetwork(IPAddress.IPv6Any, 0)]);

    /// <summary>The settings used when the configuration has no <c>steering</c> section: everything, nothing excluded.</summary>
    public static SteeringSettings Default { get; } = new();

    /// <summary>The steering mode.</summary>
    /// <remarks>Defaults to <see cref="SteeringMode.All"/>.</remarks>
    public SteeringMode Mode { get; init; } = SteeringMode.All;

    /// <summary>
    /// The networks to steer. With <see cref="SteeringMode.All"/> these are always <see cref="AllNetworks"/>; with
    /// <see cref="SteeringMode.Cidrs"/> the configured list, never empty when the JSON mode is <c>cidrs</c>. With the
    /// JSON mode <c>listed</c> they are <c>includeCidrs</c> plus the include rules that are plain CIDRs, and may be empty
    /// when only domains or ports are listed; see <see cref="PolicyMode"/>.
    /// </summary>
    /// <remarks>Defaults to <see cref="AllNetworks"/>.</remarks>
    public IReadOnlyList<IPNetwork> IncludeCidrs { get; init; } = AllNetworks;

    /// <summary>The networks that are never steered, even when inside <see cref="IncludeCidrs"/>.</summary>
    /// <remarks>Defaults to none.</remarks>
    public IReadOnlyList<IPNetwork> ExcludeCidrs { get; init; } = [];

    /// <summary>
    /// The policy mode (JSON <c>steering.mode</c>: <c>all</c>, <c>web</c>, <c>listed</c>, or <c>cidrs</c> as a synonym of
    /// <c>listed</c>). <see cref="Mode"/> stays the routing view of it for clients without policies: <c>web</c> is
    /// <see cref="SteeringMode.All"/>, <c>listed</c> is <see cref="SteeringMode.Cidrs"/>.
    /// </summary>
    /// <remarks>Defaults to <see cref="Policy.PolicyMode.Listed"/> when <see cref="Mode"/> is <see cref="SteeringMode.Cidrs"/>, otherwise <see cref="Policy.PolicyMode.All"/>.</remarks>
    public PolicyMode PolicyMode
    {
        get => _policyMode ?? (Mode == SteeringMode.Cidrs ? PolicyMode.Listed : PolicyMode.All);
        init => _policyMode = value;
    }

    /// <summary>
    /// The include rules (JSON <c>steering.include</c>): CIDRs, domains, ports, or a CIDR or domain with ports; see
    /// <see cref="PolicyRule"/>. In mode <c>web</c>, <c>includeCidrs</c> are here too.
    /// </summary>
    /// <remarks>Defaults to none.</remarks>
    public IReadOnlyList<PolicyRule> IncludeRules { get; init; } = [];

    /// <summary>
    /// The exclude rules (JSON <c>steering.exclude</c>), same syntax as <see cref="IncludeRules"/>. <see cref="ExcludeCidrs"/>
    /// are excluded as well and are not repeated here.
    /// </summary>
    /// <remarks>Defaults to none.</remarks>
    public IReadOnlyList<PolicyRule> ExcludeRules { get; init; } = [];
}
