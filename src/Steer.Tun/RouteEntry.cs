using System.Globalization;
using System.Net;

namespace Steer.Tun;

/// <summary>A route in the host's routing table.</summary>
/// <param name="Destination">Destination prefix (host bits clear).</param>
/// <param name="InterfaceIndex">Outgoing interface index; 0 for the route types without an interface (see <see cref="Type"/>).</param>
/// <param name="Gateway">Next hop, or <see langword="null"/> for an on-link route.</param>
/// <param name="Table">Routing table id; 254 is Linux's <c>main</c> table.</param>
/// <param name="Metric">Route priority/metric; lower wins. 0 means the kernel default.</param>
public sealed record RouteEntry(IPNetwork Destination, int InterfaceIndex, IPAddress? Gateway = null, int Table = RouteEntry.MainTable, int Metric = 0)
{
    /// <summary>Linux's main routing table id.</summary>
    public const int MainTable = 254;

    /// <summary>
    /// What the route does: <see cref="RouteType.Unicast"/> (the default) needs an interface;
    /// <see cref="RouteType.Throw"/>, <see cref="RouteType.Blackhole"/> and <see cref="RouteType.Unreachable"/> have
    /// none (<see cref="InterfaceIndex"/> 0, no <see cref="Gateway"/>) and exist on Linux only.
    /// </summary>
    public RouteType Type { get; init; } = RouteType.Unicast;

    /// <summary>A route of a type without interface (throw, blackhole, unreachable) in <paramref name="table"/>.</summary>
    /// <param name="type">Not <see cref="RouteType.Unicast"/>.</param>
    /// <param name="destination">Destination prefix (host bits clear).</param>
    /// <param name="table">Routing table id.</param>
    /// <param name="metric">Route priority; 0 means the kernel default.</param>
    /// <exception cref="ArgumentException"><paramref name="type"/> is <see cref="RouteType.Unicast"/>.</exception>
    public static RouteEntry WithoutInterface(RouteType type, IPNetwork destination, int table, int metric = 0)
    {
        if (type == RouteType.Unicast)
        {
            throw new ArgumentException("A unicast route needs an interface; use the constructor.", nameof(type));
        }

        return new RouteEntry(destination, 0, null, table, metric) { Type = type };
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        string metric = Metric == 0 ? "" : " metric " + Metric.ToString(CultureInfo.InvariantCulture);
        string table = " table " + Table.ToString(CultureInfo.InvariantCulture);
        return Type switch
        {
            RouteType.Unicast => $"{Destination} dev #{InterfaceIndex}{(Gateway is null ? "" : $" via {Gateway}")}{table}{metric}",
            RouteType.Throw => $"throw {Destination}{table}{metric}",
            RouteType.Blackhole => $"blackhole {Destination}{table}{metric}",
            RouteType.Unreachable => $"unreachable {Destination}{table}{metric}",
            _ => $"type {(int)Type} {Destination}{table}{metric}",
        };
    }
}
