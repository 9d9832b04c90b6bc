using System.Net.Sockets;

namespace Steer.Protocol.Dtls;

/// <summary>Socket settings for datagrams whose size is probed in-band (RFC 8899 §4.4: probes must not be fragmented).</summary>
internal static class UdpPathMtu
{
    // Linux <linux/in.h>, <linux/in6.h>.
    private const int IpMtuDiscover = 10;
    private const int Ipv6MtuDiscover = 23;
    private const int PmtuDiscProbe = 3;

    /// <summary>
    /// Linux: <c>IP_MTU_DISCOVER</c> / <c>IPV6_MTU_DISCOVER</c> = <c>*_PMTUDISC_PROBE</c> — set "don't fragment",
    /// never fragment locally, and ignore the kernel's path-MTU cache (a datagram larger than the interface MTU fails
    /// with EMSGSIZE, which the adapters count as a drop). Elsewhere: <see cref="Socket.DontFragment"/> where
    /// supported. Best effort: an OS that refuses leaves the default, and probing still works on paths that drop
    /// rather than fragment.
    /// </summary>
    public static void ProbeMode(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> value = stackalloc byte[sizeof(int)];
        BitConverter.TryWriteBytes(value, PmtuDiscProbe);
        if (OperatingSystem.IsLinux())
        {
            if (socket.AddressFamily == AddressFamily.InterNetworkV6)
            {
                TrySet(socket, SocketOptionLevel.IPv6, Ipv6MtuDiscover, value);
                if (socket.DualMode)
                {
                    TrySet(socket, SocketOptionLevel.IP, IpMtuDiscover, value);
                }
            }
            else
            {
                TrySet(socket, SocketOptionLevel.IP, IpMtuDiscover, value);
            }

            return;
        }

        try
        {
            socket.DontFragment = true;
        }
        catch (Exception ex) when (ex is SocketException or NotSupportedException)
        {
        }
    }

    private static void TrySet(Socket socket, SocketOptionLevel level, int name, ReadOnlySpan<byte> value)
    {
        try
        {
            socket.SetRawSocketOption((int)level, name, value);
        }
        catch (SocketException)
        {
        }
    }
}
