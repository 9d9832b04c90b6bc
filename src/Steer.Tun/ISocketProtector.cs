using System.Net.Sockets;

namespace Steer.Tun;

/// <summary>
/// Keeps a socket of the tunnel itself (TLS and DTLS to the gateway, datacenter probes, upstream DNS) off the tunnel, so
/// that its packets never loop back into Steer's own TUN interface. Create one with <see cref="SocketProtector.Create"/>.
/// </summary>
/// <remarks>
/// Call <see cref="Protect"/> right after creating the socket and before binding or connecting it: on Linux the
/// firewall mark is used by the route lookup of <c>connect</c>, and on macOS and Windows the interface binding must be
/// in place before the first packet. Do not protect sockets to loopback destinations on macOS and Windows: bound to a
/// physical interface, they cannot reach 127.0.0.1 (Windows fails the connect).
/// </remarks>
public interface ISocketProtector
{
    /// <summary>
    /// Protects <paramref name="socket"/>: on Linux sets <c>SO_MARK</c> to the configured firewall mark (policy routing
    /// sends marked packets past the tunnel); on macOS binds it to the physical interface with <c>IP_BOUND_IF</c> /
    /// <c>IPV6_BOUND_IF</c>; on Windows with <c>IP_UNICAST_IF</c> / <c>IPV6_UNICAST_IF</c>. Does nothing when the
    /// protector has nothing to set (mark 0 on Linux, interface index 0 on macOS and Windows).
    /// </summary>
    /// <param name="socket">A new IPv4 or IPv6 socket (dual-mode sockets are handled), not yet connected.</param>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is null.</exception>
    /// <exception cref="ArgumentException">macOS and Windows: the socket is not an IPv4 or IPv6 socket.</exception>
    /// <exception cref="TunException">The OS refused the option; on Linux without CAP_NET_ADMIN
    /// <see cref="TunException.IsPermissionDenied"/> is set and the message says how to grant it.</exception>
    /// <exception cref="ObjectDisposedException">The socket is closed.</exception>
    void Protect(Socket socket);
}
