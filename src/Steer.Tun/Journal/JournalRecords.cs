using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Serialization;

namespace Steer.Tun.Journal;

/// <summary>
/// One line of the on-disk journal: a header (<see cref="Journal"/> set), a change (<see cref="Id"/> and
/// <see cref="Change"/>) or the mark that a change was undone or never made (<see cref="Undone"/>).
/// </summary>
internal sealed class JournalLine
{
    /// <summary>"steer-router" in the header line.</summary>
    public string? Journal { get; set; }

    /// <summary>The format version (header).</summary>
    public int? Version { get; set; }

    /// <summary>The process that wrote the journal (header).</summary>
    public int? Pid { get; set; }

    /// <summary>Linux's boot id when the journal was written (header): a journal from an earlier boot describes nothing that still exists.</summary>
    public string? BootId { get; set; }

    /// <summary>The network namespace the changes were made in (header, Linux: <c>net:[inode]</c>).</summary>
    public string? NetworkNamespace { get; set; }

    /// <summary>When the journal was started (header).</summary>
    public DateTimeOffset? Started { get; set; }

    /// <summary>The change's number, increasing within one journal.</summary>
    public long? Id { get; set; }

    /// <summary>The change, written before it is made.</summary>
    public JournalChange? Change { get; set; }

    /// <summary>The number of a change that has been undone, or that was not made after all.</summary>
    public long? Undone { get; set; }
}

/// <summary>The file form of a <see cref="RouterChange"/>: plain strings and numbers, so the format stays stable.</summary>
internal sealed class JournalChange
{
    public RouterChangeKind Kind { get; set; }

    public int? Interface { get; set; }

    public string? InterfaceName { get; set; }

    public bool? WasUp { get; set; }

    public int? Mtu { get; set; }

    public string? Address { get; set; }

    public JournalRoute? Route { get; set; }

    public JournalRule? Rule { get; set; }

    public string? Family { get; set; }

    public uint? Metric { get; set; }

    public bool? AutomaticMetric { get; set; }

    public static JournalChange From(RouterChange change)
    {
        bool link = change.Kind == RouterChangeKind.Link;
        bool settings = change.Kind == RouterChangeKind.InterfaceSettings;
        bool hasInterface = link || settings || change.Kind == RouterChangeKind.Address;
        return new JournalChange
        {
            Kind = change.Kind,
            Interface = hasInterface ? change.InterfaceIndex : null,
            InterfaceName = change.InterfaceName,
            WasUp = link ? change.WasUp : null,
            Mtu = link || settings ? change.Mtu : null,
            Address = change.Address?.ToString(),
            Route = change.Route is null ? null : JournalRoute.From(change.Route),
            Rule = change.Rule is null ? null : JournalRule.From(change.Rule),
            Family = settings ? FamilyName(change.Family) : null,
            Metric = settings ? change.Metric : null,
            AutomaticMetric = settings ? change.AutomaticMetric : null,
        };
    }

    /// <exception cref="FormatException">A field is missing or malformed.</exception>
    public RouterChange ToChange() => new(Kind)
    {
        InterfaceIndex = Interface ?? 0,
        InterfaceName = InterfaceName,
        WasUp = WasUp ?? false,
        Mtu = Mtu ?? 0,
        Address = Address is null ? null : InterfaceAddress.Parse(Address),
        Route = Kind is RouterChangeKind.AddedRoute or RouterChangeKind.RemovedRoute
            ? (Route ?? throw new FormatException($"A {Kind} change has no route.")).ToRoute()
            : null,
        Rule = Kind == RouterChangeKind.AddedRule ? (Rule ?? throw new FormatException("An AddedRule change has no rule.")).ToRule() : null,
        Family = Family is null ? AddressFamily.Unspecified : ParseFamily(Family),
        Metric = Metric ?? 0,
        AutomaticMetric = AutomaticMetric ?? false,
    };

    internal static string FamilyName(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => "inet",
        AddressFamily.InterNetworkV6 => "inet6",
        _ => throw new ArgumentException($"Only IPv4 and IPv6 are journalled, not {family}.", nameof(family)),
    };

    internal static AddressFamily ParseFamily(string family) => family switch
    {
        "inet" => AddressFamily.InterNetwork,
        "inet6" => AddressFamily.InterNetworkV6,
        _ => throw new FormatException($"'{family}' is not an address family (inet, inet6)."),
    };
}

/// <summary>The file form of a <see cref="RouteEntry"/>.</summary>
internal sealed class JournalRoute
{
    public string Destination { get; set; } = "";

    public int? Interface { get; set; }

    public string? Gateway { get; set; }

    public int Table { get; set; }

    public int? Metric { get; set; }

    public RouteType? Type { get; set; }

    public static JournalRoute From(RouteEntry route) => new()
    {
        Destination = route.Destination.ToString(),
        Interface = route.InterfaceIndex == 0 ? null : route.InterfaceIndex,
        Gateway = route.Gateway?.ToString(),
        Table = route.Table,
        Metric = route.Metric == 0 ? null : route.Metric,
        Type = route.Type == RouteType.Unicast ? null : route.Type,
    };

    public RouteEntry ToRoute()
        => new(IPNetwork.Parse(Destination), Interface ?? 0, Gateway is null ? null : IPAddress.Parse(Gateway), Table, Metric ?? 0)
        {
            Type = Type ?? RouteType.Unicast,
        };
}

/// <summary>The file form of a <see cref="RoutingRule"/>.</summary>
internal sealed class JournalRule
{
    public string Family { get; set; } = "";

    public int Priority { get; set; }

    public int Table { get; set; }

    public uint? FirewallMark { get; set; }

    public bool? Invert { get; set; }

    public int? IpProtocol { get; set; }

    public string? DestinationPorts { get; set; }

    public string? Destination { get; set; }

    public int? SuppressPrefixLength { get; set; }

    public static JournalRule From(RoutingRule rule) => new()
    {
        Family = JournalChange.FamilyName(rule.Family),
        Priority = rule.Priority,
        Table = rule.Table,
        FirewallMark = rule.FirewallMark,
        Invert = rule.Invert ? true : null,
        IpProtocol = rule.IpProtocol is { } protocol ? (int)protocol : null,
        DestinationPorts = rule.DestinationPorts is { } ports
            ? string.Create(CultureInfo.InvariantCulture, $"{ports.First}-{ports.Last}")
            : null,
        Destination = rule.Destination?.ToString(),
        SuppressPrefixLength = rule.SuppressPrefixLength,
    };

    public RoutingRule ToRule()
    {
        (ushort, ushort)? ports = null;
        if (DestinationPorts is not null)
        {
            int dash = DestinationPorts.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                throw new FormatException($"'{DestinationPorts}' is not a port range.");
            }

            ports = (ushort.Parse(DestinationPorts.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture),
                ushort.Parse(DestinationPorts.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture));
        }

        return new RoutingRule(JournalChange.ParseFamily(Family), Priority, Table)
        {
            FirewallMark = FirewallMark,
            Invert = Invert ?? false,
            IpProtocol = IpProtocol is { } protocol ? (ProtocolType)protocol : null,
            DestinationPorts = ports,
            Destination = Destination is null ? null : IPNetwork.Parse(Destination),
            SuppressPrefixLength = SuppressPrefixLength,
        };
    }
}

/// <summary>Source-generated serialization of the journal (the library is AOT-compatible: no reflection).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(JournalLine))]
internal sealed partial class JournalJsonContext : JsonSerializerContext
{
}
