using System.Globalization;
using System.Net.Sockets;

namespace Steer.Tun.Journal;

/// <summary>The kinds of change a router makes and journals.</summary>
internal enum RouterChangeKind
{
    /// <summary>An interface was brought up and given an MTU (Linux, macOS); undo restores the old MTU and up/down state.</summary>
    Link,

    /// <summary>An address was added; undo removes it.</summary>
    Address,

    /// <summary>A route was added; undo removes it.</summary>
    AddedRoute,

    /// <summary>A route the router did not add was removed; undo adds it back.</summary>
    RemovedRoute,

    /// <summary>A policy rule was added; undo removes it.</summary>
    AddedRule,

    /// <summary>An interface's per-family MTU and metric were set (Windows); undo restores the old values.</summary>
    InterfaceSettings,
}

/// <summary>
/// One journalled change with what is needed to undo it, in any process (the on-disk journal stores it, see
/// <see cref="ChangeJournal"/>). Which fields are set depends on <see cref="Kind"/>.
/// </summary>
internal sealed record RouterChange(RouterChangeKind Kind)
{
    /// <summary>The interface of a <see cref="RouterChangeKind.Link"/>, <see cref="RouterChangeKind.Address"/> or <see cref="RouterChangeKind.InterfaceSettings"/> change.</summary>
    public int InterfaceIndex { get; init; }

    /// <summary>The interface's name, where the OS addresses interfaces by name (macOS ioctls).</summary>
    public string? InterfaceName { get; init; }

    /// <summary>Whether the link was up before (<see cref="RouterChangeKind.Link"/>).</summary>
    public bool WasUp { get; init; }

    /// <summary>The MTU before the change (<see cref="RouterChangeKind.Link"/>, <see cref="RouterChangeKind.InterfaceSettings"/>).</summary>
    public int Mtu { get; init; }

    /// <summary>The address added (<see cref="RouterChangeKind.Address"/>).</summary>
    public InterfaceAddress? Address { get; init; }

    /// <summary>The route added or removed (<see cref="RouterChangeKind.AddedRoute"/>, <see cref="RouterChangeKind.RemovedRoute"/>).</summary>
    public RouteEntry? Route { get; init; }

    /// <summary>The rule added (<see cref="RouterChangeKind.AddedRule"/>).</summary>
    public RoutingRule? Rule { get; init; }

    /// <summary>The address family whose settings changed (<see cref="RouterChangeKind.InterfaceSettings"/>).</summary>
    public AddressFamily Family { get; init; }

    /// <summary>The interface metric before the change (<see cref="RouterChangeKind.InterfaceSettings"/>).</summary>
    public uint Metric { get; init; }

    /// <summary>Whether the interface metric was automatic before the change (<see cref="RouterChangeKind.InterfaceSettings"/>).</summary>
    public bool AutomaticMetric { get; init; }

    public static RouterChange ForLink(int interfaceIndex, bool wasUp, int mtu, string? name = null)
        => new(RouterChangeKind.Link) { InterfaceIndex = interfaceIndex, WasUp = wasUp, Mtu = mtu, InterfaceName = name };

    public static RouterChange ForAddress(int interfaceIndex, InterfaceAddress address, string? name = null)
        => new(RouterChangeKind.Address) { InterfaceIndex = interfaceIndex, Address = address, InterfaceName = name };

    public static RouterChange ForAddedRoute(RouteEntry route) => new(RouterChangeKind.AddedRoute) { Route = route };

    public static RouterChange ForRemovedRoute(RouteEntry route) => new(RouterChangeKind.RemovedRoute) { Route = route };

    public static RouterChange ForAddedRule(RoutingRule rule) => new(RouterChangeKind.AddedRule) { Rule = rule };

    public static RouterChange ForInterfaceSettings(int interfaceIndex, AddressFamily family, int mtu, uint metric, bool automaticMetric)
        => new(RouterChangeKind.InterfaceSettings)
        {
            InterfaceIndex = interfaceIndex,
            Family = family,
            Mtu = mtu,
            Metric = metric,
            AutomaticMetric = automaticMetric,
        };

    /// <summary>What undoing this change does, for log and error messages.</summary>
    public string DescribeUndo() => Kind switch
    {
        RouterChangeKind.Link => $"set link #{InterfaceIndex.ToString(CultureInfo.InvariantCulture)} {(WasUp ? "up" : "down")} with mtu {Mtu.ToString(CultureInfo.InvariantCulture)}",
        RouterChangeKind.Address => $"remove address {Address} dev #{InterfaceIndex.ToString(CultureInfo.InvariantCulture)}",
        RouterChangeKind.AddedRoute => "remove route " + Route,
        RouterChangeKind.RemovedRoute => "add route " + Route,
        RouterChangeKind.AddedRule => "remove rule " + Rule,
        RouterChangeKind.InterfaceSettings => string.Create(
            CultureInfo.InvariantCulture,
            $"restore link #{InterfaceIndex} ({(Family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")}) mtu {Mtu} metric {(AutomaticMetric ? "automatic" : Metric.ToString(CultureInfo.InvariantCulture))}"),
        _ => "undo change " + Kind,
    };
}
