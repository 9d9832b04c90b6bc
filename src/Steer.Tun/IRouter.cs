using System.Net;
using System.Net.Sockets;

namespace Steer.Tun;

/// <summary>
/// Changes the host's interfaces and routing tables. Every change made through a router is remembered and undone,
/// in reverse order, when the router is disposed — including changes that outlive a TUN device, such as routes
/// through another interface, and policy rules. With <see cref="RouterOptions.JournalPath"/> every change is also
/// written to an on-disk journal before it is made, so that <see cref="Router.RecoverLeftovers"/> can undo what a
/// killed process left behind.
/// </summary>
public interface IRouter : IDisposable
{
    /// <summary>Sets the MTU of an interface and brings it up.</summary>
    void SetInterfaceUp(int interfaceIndex, int mtu);

    /// <summary>Adds an address to an interface (IPv4 or IPv6; IPv6 without duplicate address detection).</summary>
    void AddAddress(int interfaceIndex, InterfaceAddress address);

    /// <summary>
    /// True when this router supports policy rules (<see cref="AddRule"/>), several routing tables and the route types
    /// other than <see cref="RouteType.Unicast"/>: Linux.
    /// </summary>
    bool SupportsPolicyRules { get; }

    /// <summary>Adds a route; replacing an identical existing route is not an error.</summary>
    /// <remarks>
    /// <see cref="RouteType.Throw"/>, <see cref="RouteType.Blackhole"/> and <see cref="RouteType.Unreachable"/> routes
    /// have no interface (index 0, no gateway) and need <see cref="SupportsPolicyRules"/>.
    /// </remarks>
    void AddRoute(RouteEntry route);

    /// <summary>Removes a route this router added; a route that is already gone is not an error.</summary>
    void RemoveRoute(RouteEntry route);

    /// <summary>
    /// Adds a policy routing rule. A rule that already exists (the kernel's EEXIST: same selectors, priority and
    /// table) is not an error; it is then not this router's change and survives <see cref="IDisposable.Dispose"/>.
    /// A rule added here is journalled and removed on dispose.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The OS has no policy routing (<see cref="SupportsPolicyRules"/> is false).</exception>
    /// <exception cref="ArgumentException">The rule is invalid (see <see cref="RoutingRule"/>).</exception>
    /// <exception cref="TunException">The kernel refused the rule.</exception>
    void AddRule(RoutingRule rule);

    /// <summary>
    /// Removes a policy routing rule; a rule that is already gone is not an error. Removing a rule this router added
    /// drops it from the journal; a rule it did not add is removed for good (not restored on dispose).
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The OS has no policy routing (<see cref="SupportsPolicyRules"/> is false).</exception>
    void RemoveRule(RoutingRule rule);

    /// <summary>
    /// Deletes every route of <paramref name="family"/> in <paramref name="table"/> (whoever added it), for cleaning a
    /// table Steer owns. The deletions are not journalled, so dispose does not restore them; routes this router had
    /// added there are dropped from its journal. The main, local and default tables (253–255) are refused.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The OS has no routing tables (<see cref="SupportsPolicyRules"/> is false).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="table"/> is not a table Steer may flush.</exception>
    void FlushTable(int table, AddressFamily family);

    /// <summary>Asks the kernel which route it would use for <paramref name="destination"/> now.</summary>
    /// <returns>The route (destination is the host prefix that was asked for), or <see langword="null"/> if unreachable.</returns>
    RouteEntry? Lookup(IPAddress destination);
}
