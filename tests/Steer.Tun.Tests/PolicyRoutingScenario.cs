using System.Net;
using System.Net.Sockets;

namespace Steer.Tun.Tests;

/// <summary>
/// Rules of every shape and routes of every type in table 5354, shared by the in-process policy routing test and the
/// kill -9 child. Interface v0 is one end of a veth pair whose other end stays down.
/// </summary>
internal static class PolicyRoutingScenario
{
    public const int Table = 5354;

    public static RoutingRule[] Rules { get; } =
    [
        new(AddressFamily.InterNetwork, 1000, Table) { FirewallMark = 0x5354 },
        new(AddressFamily.InterNetwork, 1001, Table) { FirewallMark = 0x5354, Invert = true },
        new(AddressFamily.InterNetwork, 1002, Table) { IpProtocol = ProtocolType.Tcp, DestinationPorts = (80, 443) },
        new(AddressFamily.InterNetwork, 1003, Table) { Destination = IPNetwork.Parse("198.18.0.0/15") },
        new(AddressFamily.InterNetwork, 1004, RouteEntry.MainTable) { SuppressPrefixLength = 0 },
        new(AddressFamily.InterNetworkV6, 1000, Table) { FirewallMark = 0x5354 },
        new(AddressFamily.InterNetworkV6, 1001, Table) { FirewallMark = 0x5354, Invert = true },
        new(AddressFamily.InterNetworkV6, 1002, Table) { IpProtocol = ProtocolType.Udp, DestinationPorts = (443, 443) },
        new(AddressFamily.InterNetworkV6, 1003, Table) { Destination = IPNetwork.Parse("fd53:7ee7::/32") },
        new(AddressFamily.InterNetworkV6, 1004, RouteEntry.MainTable) { SuppressPrefixLength = 0 },
    ];

    public const string ExpectedRules4 =
        "0:\tfrom all lookup local\n"
        + "1000:\tfrom all fwmark 0x5354 lookup 5354\n"
        + "1001:\tnot from all fwmark 0x5354 lookup 5354\n"
        + "1002:\tfrom all ipproto tcp dport 80-443 lookup 5354\n"
        + "1003:\tfrom all to 198.18.0.0/15 lookup 5354\n"
        + "1004:\tfrom all lookup main suppress_prefixlength 0\n"
        + "32766:\tfrom all lookup main\n"
        + "32767:\tfrom all lookup default\n";

    public const string ExpectedRules6 =
        "0:\tfrom all lookup local\n"
        + "1000:\tfrom all fwmark 0x5354 lookup 5354\n"
        + "1001:\tnot from all fwmark 0x5354 lookup 5354\n"
        + "1002:\tfrom all ipproto udp dport 443 lookup 5354\n"
        + "1003:\tfrom all to fd53:7ee7::/32 lookup 5354\n"
        + "1004:\tfrom all lookup main suppress_prefixlength 0\n"
        + "32766:\tfrom all lookup main\n";

    public static InterfaceAddress Address4 { get; } = InterfaceAddress.Parse("198.18.55.1/24");

    public static InterfaceAddress Address6 { get; } = InterfaceAddress.Parse("fd53:7ee7:55::1/64");

    /// <summary>The routes, one of each type and family, through <paramref name="v0"/> where they need an interface.</summary>
    public static RouteEntry[] Routes(int v0) =>
    [
        new(IPNetwork.Parse("198.18.56.0/24"), v0, IPAddress.Parse("198.18.55.2"), Table, 5),
        new(IPNetwork.Parse("198.18.57.0/24"), v0, null, Table),
        RouteEntry.WithoutInterface(RouteType.Throw, IPNetwork.Parse("198.18.58.0/24"), Table),
        RouteEntry.WithoutInterface(RouteType.Blackhole, IPNetwork.Parse("198.18.59.0/24"), Table),
        RouteEntry.WithoutInterface(RouteType.Unreachable, IPNetwork.Parse("198.18.60.0/24"), Table),
        new(IPNetwork.Parse("fd53:7ee7:56::/48"), v0, IPAddress.Parse("fd53:7ee7:55::2"), Table),
        new(IPNetwork.Parse("fd53:7ee7:57::/48"), v0, null, Table),
        RouteEntry.WithoutInterface(RouteType.Throw, IPNetwork.Parse("fd53:7ee7:58::/48"), Table),
        RouteEntry.WithoutInterface(RouteType.Blackhole, IPNetwork.Parse("fd53:7ee7:59::/48"), Table),
        RouteEntry.WithoutInterface(RouteType.Unreachable, IPNetwork.Parse("fd53:7ee7:60::/48"), Table),
    ];

    public const string ExpectedRoutes4 =
        "198.18.56.0/24 via 198.18.55.2 dev v0 proto static metric 5 linkdown \n"
        + "198.18.57.0/24 dev v0 proto static scope link linkdown \n"
        + "throw 198.18.58.0/24 proto static \n"
        + "blackhole 198.18.59.0/24 proto static \n"
        + "unreachable 198.18.60.0/24 proto static \n";

    public const string ExpectedRoutes6 =
        "fd53:7ee7:56::/48 via fd53:7ee7:55::2 dev v0 proto static metric 1024 linkdown pref medium\n"
        + "fd53:7ee7:57::/48 dev v0 proto static metric 1024 linkdown pref medium\n"
        + "throw fd53:7ee7:58::/48 dev lo proto static metric 1024 pref medium\n"
        + "blackhole fd53:7ee7:59::/48 dev lo proto static metric 1024 pref medium\n"
        + "unreachable fd53:7ee7:60::/48 dev lo proto static metric 1024 pref medium\n";

    /// <summary>Creates v0 (down, MTU 1500) and its peer v1 (down) in <paramref name="ns"/>; returns v0's index.</summary>
    public static int CreateVeth(TestNetworkNamespace ns)
    {
        ns.Ip("link", "add", "v0", "type", "veth", "peer", "name", "v1");
        return int.Parse(ns.Exec("cat", "/sys/class/net/v0/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Brings v0 up with MTU 1400 and its addresses, then adds every rule and route.</summary>
    public static void Apply(IRouter router, int v0)
    {
        router.SetInterfaceUp(v0, 1400);
        router.AddAddress(v0, Address4);
        router.AddAddress(v0, Address6);
        foreach (RoutingRule rule in Rules)
        {
            router.AddRule(rule);
        }

        foreach (RouteEntry route in Routes(v0))
        {
            router.AddRoute(route);
        }
    }
}
