using System.Net;

namespace Steer.Configuration;

/// <summary>Which destinations the client steers through the gateway (JSON <c>steering</c>).</summary>
public sealed class SteeringSettings
{
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
    /// <see cref="SteeringMode.Cidrs"/> the configured list, never empty.
    /// </summary>
    /// <remarks>Defaults to <see cref="AllNetworks"/>.</remarks>
    public IReadOnlyList<IPNetwork> IncludeCidrs { get; init; } = AllNetworks;

    /// <summary>The networks that are never steered, even when inside <see cref="IncludeCidrs"/>.</summary>
    /// <remarks>Defaults to none.</remarks>
    public IReadOnlyList<IPNetwork> ExcludeCidrs { get; init; } = [];
}
