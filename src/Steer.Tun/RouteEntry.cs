using System.Net;

namespace Steer.Tun;

/// <summary>A route in the host's routing table.</summary>
/// <param name="Destination">Destination prefix (host bits clear).</param>
/// <param name="InterfaceIndex">Outgoing interface index.</param>
/// <param name="Gateway">Next hop, or <see langword="null"/> for an on-link route.</param>
/// <param name="Table">Routing table id; 254 is Linux's <c>main</c> table.</param>
/// <param name="Metric">Route priority/metric; lower wins. 0 means the kernel default.</param>
public sealed record RouteEntry(IPNetwork Destination, int InterfaceIndex, IPAddress? Gateway = null, int Table = RouteEntry.MainTable, int Metric = 0)
{
    /// <summary>Linux's main routing table id.</summary>
    public const int MainTable = 254;

    /// <inheritdoc/>
    public override string ToString()
        => $"{Destination} dev #{InterfaceIndex}{(Gateway is null ? "" : $" via {Gateway}")} table {Table}{(Metric == 0 ? "" : $" metric {Metric}")}";
}
