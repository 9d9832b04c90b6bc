using System.Net;
using Steer.Tun.Linux;

namespace Steer.Tun;

/// <summary>
/// The peers of the machine's open connections: which remote addresses a TCP connection or a connected UDP socket
/// uses right now. Steer keeps a route learned from a DNS answer while a connection still uses its address, long
/// after the answer's TTL (applications and OS caches hold on to addresses), so a long-lived connection never moves
/// from the tunnel to the direct path, or back, in mid-flow.
/// </summary>
public static class SocketTable
{
    /// <summary>True where <see cref="GetConnectedRemoteAddresses"/> can read the table: Linux (<c>/proc/net</c>).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>
    /// The remote addresses of the calling process's network namespace's connected sockets (TCP in any state but
    /// LISTEN, CLOSE and TIME_WAIT, connected UDP), IPv4-mapped IPv6 addresses as IPv4; empty where not <see cref="IsSupported"/>.
    /// </summary>
    public static HashSet<IPAddress> GetConnectedRemoteAddresses()
    {
        var addresses = new HashSet<IPAddress>();
        if (OperatingSystem.IsLinux())
        {
            ProcNetSockets.CollectRemoteAddresses(addresses);
        }

        return addresses;
    }
}
