using System.Net;

namespace Steer.Tun;

/// <summary>
/// Changes the host's interfaces and routing tables. Every change made through a router is remembered and undone,
/// in reverse order, when the router is disposed — including changes that outlive a TUN device, such as routes
/// through another interface.
/// </summary>
public interface IRouter : IDisposable
{
    /// <summary>Sets the MTU of an interface and brings it up.</summary>
    void SetInterfaceUp(int interfaceIndex, int mtu);

    /// <summary>Adds an address to an interface (IPv4 or IPv6; IPv6 without duplicate address detection).</summary>
    void AddAddress(int interfaceIndex, InterfaceAddress address);

    /// <summary>Adds a route; replacing an identical existing route is not an error.</summary>
    void AddRoute(RouteEntry route);

    /// <summary>Removes a route this router added; a route that is already gone is not an error.</summary>
    void RemoveRoute(RouteEntry route);

    /// <summary>Asks the kernel which route it would use for <paramref name="destination"/> now.</summary>
    /// <returns>The route (destination is the host prefix that was asked for), or <see langword="null"/> if unreachable.</returns>
    RouteEntry? Lookup(IPAddress destination);
}
