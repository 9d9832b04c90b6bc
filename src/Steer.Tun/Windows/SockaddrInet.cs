using System.Net;
using System.Net.Sockets;
using static Steer.Tun.Windows.Interop.NetIoConstants;

namespace Steer.Tun.Windows;

/// <summary>Converts between <see cref="IPAddress"/> and the IP Helper API's <see cref="Interop.SOCKADDR_INET"/>.</summary>
internal static unsafe class SockaddrInet
{
    /// <summary>The SOCKADDR_INET for <paramref name="address"/> (port 0; IPv6 scope id kept).</summary>
    internal static Interop.SOCKADDR_INET From(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Interop.SOCKADDR_INET result = default;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            result.Ipv4.sin_family = AF_INET;
            address.TryWriteBytes(new Span<byte>(result.Ipv4.sin_addr, 4), out _);
            return result;
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"{address} is not an IPv4 or IPv6 address.", nameof(address));
        }

        result.Ipv6.sin6_family = AF_INET6;
        address.TryWriteBytes(new Span<byte>(result.Ipv6.sin6_addr, 16), out _);
        result.Ipv6.sin6_scope_id = (uint)address.ScopeId;
        return result;
    }

    /// <summary>The unspecified address (0.0.0.0 or ::) of <paramref name="family"/>: an on-link route's next hop.</summary>
    internal static Interop.SOCKADDR_INET Unspecified(AddressFamily family)
        => From(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any);

    /// <summary>The address in <paramref name="sockaddr"/>, or null for AF_UNSPEC and other families.</summary>
    internal static IPAddress? ToAddress(in Interop.SOCKADDR_INET sockaddr)
    {
        fixed (Interop.SOCKADDR_INET* p = &sockaddr)
        {
            return p->si_family switch
            {
                AF_INET => new IPAddress(new ReadOnlySpan<byte>(p->Ipv4.sin_addr, 4)),
                AF_INET6 => new IPAddress(new ReadOnlySpan<byte>(p->Ipv6.sin6_addr, 16), p->Ipv6.sin6_scope_id),
                _ => null,
            };
        }
    }

    /// <summary>The IP Helper family of an address family.</summary>
    internal static ushort Family(AddressFamily family) => family == AddressFamily.InterNetwork ? AF_INET : AF_INET6;
}
