namespace Steer.Tun;

/// <summary>What a route does with the packets it matches (Linux's <c>rtm_type</c>).</summary>
public enum RouteType
{
    /// <summary>An ordinary route: packets leave through <see cref="RouteEntry.InterfaceIndex"/> (and its gateway, if any).</summary>
    Unicast = 0,

    /// <summary>
    /// Ends the lookup in this table as if it held no route, so policy routing goes on with the next rule
    /// (<c>ip route add throw PREFIX table T</c>). Linux only; has no interface.
    /// </summary>
    Throw,

    /// <summary>Packets are dropped silently (<c>blackhole</c>). Linux only; has no interface.</summary>
    Blackhole,

    /// <summary>Packets are dropped and the sender gets "network unreachable" (<c>unreachable</c>). Linux only; has no interface.</summary>
    Unreachable,
}
