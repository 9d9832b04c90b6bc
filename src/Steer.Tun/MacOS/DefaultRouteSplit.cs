using System.Net;
using System.Net.Sockets;

namespace Steer.Tun.MacOS;

/// <summary>
/// Covers a default route with the two halves of the address space (0.0.0.0/1 + 128.0.0.0/1, ::/1 + 8000::/1). The
/// halves are more specific than the host's own default route, so they win without replacing (or deleting on
/// exit) the route the host had. Used by the macOS and Windows routers; Linux's router gets the halves from its callers.
/// </summary>
internal static class DefaultRouteSplit
{
    private static readonly IPNetwork[] s_ipv4Halves = [IPNetwork.Parse("0.0.0.0/1"), IPNetwork.Parse("128.0.0.0/1")];
    private static readonly IPNetwork[] s_ipv6Halves = [IPNetwork.Parse("::/1"), IPNetwork.Parse("8000::/1")];

    /// <summary>Returns the two halves for a /0, and <paramref name="destination"/> itself otherwise.</summary>
    internal static IReadOnlyList<IPNetwork> Split(IPNetwork destination)
    {
        if (destination.PrefixLength != 0)
        {
            return [destination];
        }

        return destination.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? s_ipv4Halves : s_ipv6Halves;
    }
}
