using System.Net;
using Steer.Configuration;

namespace Steer.Policy;

/// <summary>What a <see cref="SteeringPolicy"/> is compiled from: the configured mode and rules plus run-time facts.</summary>
public sealed class SteeringPolicyOptions
{
    /// <summary>What is steered when no rule matches.</summary>
    /// <remarks>Defaults to <see cref="PolicyMode.All"/>.</remarks>
    public PolicyMode Mode { get; set; } = PolicyMode.All;

    /// <summary>The include and exclude rules, in any order (precedence does not depend on order).</summary>
    /// <remarks>Defaults to none.</remarks>
    public IList<PolicyRule> Rules { get; set; } = [];

    /// <summary>The gateways' own addresses (resolved): always direct, so the tunnel can never carry itself.</summary>
    /// <remarks>Defaults to none.</remarks>
    public IList<IPAddress> GatewayAddresses { get; set; } = [];

    /// <summary>
    /// The networks the client is connected to (its physical interfaces' on-link prefixes), known at run time: always
    /// direct. Loopback, link-local, multicast and limited broadcast are always direct without being listed here.
    /// </summary>
    /// <remarks>Defaults to none.</remarks>
    public IList<IPNetwork> ConnectedNetworks { get; set; } = [];

    /// <summary>The clock for the expiry of addresses learned from DNS answers.</summary>
    /// <remarks>Defaults to <see cref="TimeProvider.System"/>.</remarks>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Creates options from the tenant configuration's steering settings: the mode, the <c>include</c> and
    /// <c>exclude</c> rules, and <c>includeCidrs</c> / <c>excludeCidrs</c> as network rules.
    /// </summary>
    /// <param name="settings">The steering settings.</param>
    /// <returns>New options; add <see cref="GatewayAddresses"/> and <see cref="ConnectedNetworks"/> before compiling.</returns>
    public static SteeringPolicyOptions FromSettings(SteeringSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var rules = new List<PolicyRule>();
        var seen = new HashSet<(PolicyRuleKind, string)>();
        void Add(PolicyRule rule)
        {
            if (seen.Add((rule.Kind, rule.Text)))
            {
                rules.Add(rule);
            }
        }

        foreach (PolicyRule rule in settings.IncludeRules)
        {
            Add(rule);
        }

        foreach (PolicyRule rule in settings.ExcludeRules)
        {
            Add(rule);
        }

        // includeCidrs is "everything" in modes all and web (the parser turns a web policy's includeCidrs into
        // include rules); it is a list of rules only when the policy steers listed destinations.
        if (settings.PolicyMode == PolicyMode.Listed)
        {
            foreach (IPNetwork network in settings.IncludeCidrs)
            {
                Add(PolicyRule.ForNetwork(network, PolicyRuleKind.Include));
            }
        }

        foreach (IPNetwork network in settings.ExcludeCidrs)
        {
            Add(PolicyRule.ForNetwork(network, PolicyRuleKind.Exclude));
        }

        return new SteeringPolicyOptions { Mode = settings.PolicyMode, Rules = rules };
    }
}
