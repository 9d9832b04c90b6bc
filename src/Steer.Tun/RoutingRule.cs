using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Steer.Tun;

/// <summary>
/// A policy routing rule (Linux's <c>ip rule</c>): packets of <paramref name="Family"/> that match every selector set
/// here are looked up in <paramref name="Table"/>; rules are tried in ascending <paramref name="Priority"/>. With no
/// selector set the rule matches every packet of the family. See <see cref="IRouter.AddRule"/>.
/// </summary>
/// <param name="Family"><see cref="AddressFamily.InterNetwork"/> or <see cref="AddressFamily.InterNetworkV6"/>.</param>
/// <param name="Priority">The rule's priority (<c>pref</c>), 0 to <see cref="int.MaxValue"/>; lower is tried first.</param>
/// <param name="Table">The routing table to look the packet up in, 1 to <see cref="int.MaxValue"/>.</param>
public sealed record RoutingRule(AddressFamily Family, int Priority, int Table)
{
    /// <summary>Matches packets whose firewall mark (SO_MARK, nftables <c>meta mark</c>) is exactly this value (mask 0xffffffff).</summary>
    public uint? FirewallMark { get; init; }

    /// <summary>Inverts the whole selector (<c>ip rule add not …</c>): the rule applies to the packets that do not match.</summary>
    public bool Invert { get; init; }

    /// <summary>Matches packets of this IP protocol (<c>ipproto</c>), typically <see cref="ProtocolType.Tcp"/> or <see cref="ProtocolType.Udp"/>.</summary>
    public ProtocolType? IpProtocol { get; init; }

    /// <summary>Matches packets whose destination port is in this inclusive range (<c>dport FIRST-LAST</c>); ports start at 1.</summary>
    public (ushort First, ushort Last)? DestinationPorts { get; init; }

    /// <summary>Matches packets to this prefix (<c>to PREFIX</c>); of <see cref="Family"/>, host bits clear.</summary>
    public IPNetwork? Destination { get; init; }

    /// <summary>
    /// Ignores the table's answer when the matching route's prefix is this long or shorter
    /// (<c>suppress_prefixlength N</c>; 0 ignores default routes), so that the next rule decides.
    /// </summary>
    public int? SuppressPrefixLength { get; init; }

    /// <summary>Checks the rule before it is sent to the kernel.</summary>
    /// <exception cref="ArgumentException">A field is out of range or of the wrong address family.</exception>
    internal void Validate()
    {
        if (Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"Rule {this}: the family must be InterNetwork (IPv4) or InterNetworkV6 (IPv6), not {Family}.");
        }

        if (Priority < 0)
        {
            throw new ArgumentException($"Rule {this}: the priority must not be negative.");
        }

        if (Table <= 0)
        {
            throw new ArgumentException($"Rule {this}: the table must be at least 1.");
        }

        if (IpProtocol is { } protocol && (int)protocol is < 1 or > 255)
        {
            throw new ArgumentException($"Rule {this}: IP protocol {(int)protocol} is out of range (1-255).");
        }

        if (DestinationPorts is { } ports && (ports.First == 0 || ports.First > ports.Last))
        {
            throw new ArgumentException($"Rule {this}: the destination port range must satisfy 1 <= first <= last.");
        }

        int maxPrefix = Family == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (Destination is { } destination && destination.BaseAddress.AddressFamily != Family)
        {
            throw new ArgumentException($"Rule {this}: the destination {destination} is not of the rule's family.");
        }

        if (SuppressPrefixLength is { } suppress && (suppress < 0 || suppress > maxPrefix))
        {
            throw new ArgumentException($"Rule {this}: suppress_prefixlength must be 0 to {maxPrefix.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    /// <summary>The rule in <c>ip rule</c>'s words, for example <c>inet priority 100 not fwmark 0x1 lookup 5354</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(Family switch
        {
            AddressFamily.InterNetwork => "inet",
            AddressFamily.InterNetworkV6 => "inet6",
            _ => Family.ToString(),
        });
        text.Append(CultureInfo.InvariantCulture, $" priority {Priority}");
        if (Invert)
        {
            text.Append(" not");
        }

        if (Destination is { } destination)
        {
            text.Append(CultureInfo.InvariantCulture, $" to {destination}");
        }

        if (FirewallMark is { } mark)
        {
            text.Append(CultureInfo.InvariantCulture, $" fwmark 0x{mark:x}");
        }

        if (IpProtocol is { } protocol)
        {
            text.Append(" ipproto ").Append(protocol switch
            {
                ProtocolType.Tcp => "tcp",
                ProtocolType.Udp => "udp",
                ProtocolType.Icmp => "icmp",
                ProtocolType.IcmpV6 => "ipv6-icmp",
                _ => ((int)protocol).ToString(CultureInfo.InvariantCulture),
            });
        }

        if (DestinationPorts is { } ports)
        {
            text.Append(CultureInfo.InvariantCulture, $" dport {ports.First}");
            if (ports.Last != ports.First)
            {
                text.Append(CultureInfo.InvariantCulture, $"-{ports.Last}");
            }
        }

        text.Append(CultureInfo.InvariantCulture, $" lookup {Table}");
        if (SuppressPrefixLength is { } suppress)
        {
            text.Append(CultureInfo.InvariantCulture, $" suppress_prefixlength {suppress}");
        }

        return text.ToString();
    }
}
