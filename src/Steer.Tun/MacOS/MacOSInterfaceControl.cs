using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using static Steer.Tun.MacOS.Interop.IoctlRequests;
using static Steer.Tun.MacOS.Interop.SocketConstants;

namespace Steer.Tun.MacOS;

/// <summary>
/// Interface ioctls on macOS (flags, MTU, addresses), each on a throw-away AF_INET or AF_INET6 datagram socket.
/// The <c>Try</c> methods return 0 or the errno, so that callers decide which errors are fatal.
/// </summary>
[SupportedOSPlatform("macos")]
internal static unsafe class MacOSInterfaceControl
{
    /// <summary>The index of interface <paramref name="name"/>, or 0.</summary>
    internal static int IndexOf(string name)
    {
        Span<byte> buffer = stackalloc byte[IFNAMSIZ];
        WriteName(buffer, name);
        fixed (byte* p = buffer)
        {
            return (int)Interop.Libc.if_nametoindex(p);
        }
    }

    /// <summary>The name of interface <paramref name="index"/>.</summary>
    /// <exception cref="TunException">There is no such interface.</exception>
    internal static string NameOf(int index, string operation)
    {
        byte* name = stackalloc byte[IFNAMSIZ];
        if (Interop.Libc.if_indextoname((uint)index, name) is null)
        {
            throw MacOSErrors.OperationFailed($"{operation} (no interface #{index})", Marshal.GetLastPInvokeError());
        }

        return ReadName(new ReadOnlySpan<byte>(name, IFNAMSIZ));
    }

    /// <summary>Reads the flags and MTU of <paramref name="name"/>.</summary>
    internal static int TryGetLink(string name, out short flags, out int mtu)
    {
        flags = 0;
        mtu = 0;
        Interop.ifreq request = default;
        WriteName(new Span<byte>(request.ifr_name, IFNAMSIZ), name);
        int error = Ioctl(AF_INET, SIOCGIFFLAGS, &request);
        if (error != 0)
        {
            return error;
        }

        flags = request.ifr_flags;
        request = default;
        WriteName(new Span<byte>(request.ifr_name, IFNAMSIZ), name);
        error = Ioctl(AF_INET, SIOCGIFMTU, &request);
        mtu = request.ifr_mtu;
        return error;
    }

    /// <summary>Sets the MTU of <paramref name="name"/>.</summary>
    internal static int TrySetMtu(string name, int mtu)
    {
        Interop.ifreq request = default;
        WriteName(new Span<byte>(request.ifr_name, IFNAMSIZ), name);
        request.ifr_mtu = mtu;
        return Ioctl(AF_INET, SIOCSIFMTU, &request);
    }

    /// <summary>Sets the flags of <paramref name="name"/>.</summary>
    internal static int TrySetFlags(string name, short flags)
    {
        Interop.ifreq request = default;
        WriteName(new Span<byte>(request.ifr_name, IFNAMSIZ), name);
        request.ifr_flags = flags;
        return Ioctl(AF_INET, SIOCSIFFLAGS, &request);
    }

    /// <summary>
    /// Adds an address. IPv4 uses SIOCAIFADDR with the address as its own point-to-point peer (what <c>ifconfig utunN
    /// A A</c> does), IPv6 uses SIOCAIFADDR_IN6 without a peer, without DAD and with infinite lifetimes. The on-link
    /// prefix route is the caller's business: on a point-to-point interface the kernel adds only a host route.
    /// </summary>
    internal static int TryAddAddress(string name, InterfaceAddress address)
    {
        if (address.Address.AddressFamily == AddressFamily.InterNetwork)
        {
            Interop.ifaliasreq request = default;
            WriteName(new Span<byte>(request.ifra_name, IFNAMSIZ), name);
            WriteSockaddr(ref request.ifra_addr, address.Address);
            WriteSockaddr(ref request.ifra_broadaddr, address.Address);
            WriteSockaddr(ref request.ifra_mask, Mask(AddressFamily.InterNetwork, address.PrefixLength));
            return Ioctl(AF_INET, SIOCAIFADDR, &request);
        }

        Interop.in6_aliasreq request6 = default;
        WriteName(new Span<byte>(request6.ifra_name, IFNAMSIZ), name);
        WriteSockaddr(ref request6.ifra_addr, address.Address);
        WriteSockaddr(ref request6.ifra_prefixmask, Mask(AddressFamily.InterNetworkV6, address.PrefixLength));
        request6.ifra_flags = Interop.In6Constants.IN6_IFF_NODAD;
        request6.ifra_lifetime.ia6t_vltime = Interop.In6Constants.ND6_INFINITE_LIFETIME;
        request6.ifra_lifetime.ia6t_pltime = Interop.In6Constants.ND6_INFINITE_LIFETIME;
        return Ioctl(AF_INET6, SIOCAIFADDR_IN6, &request6);
    }

    /// <summary>Removes an address with SIOCDIFADDR / SIOCDIFADDR_IN6.</summary>
    internal static int TryRemoveAddress(string name, InterfaceAddress address)
    {
        if (address.Address.AddressFamily == AddressFamily.InterNetwork)
        {
            Interop.ifreq request = default;
            WriteName(new Span<byte>(request.ifr_name, IFNAMSIZ), name);
            WriteSockaddr(ref request.ifr_addr, address.Address);
            return Ioctl(AF_INET, SIOCDIFADDR, &request);
        }

        Interop.in6_ifreq request6 = default;
        WriteName(new Span<byte>(request6.ifr_name, IFNAMSIZ), name);
        WriteSockaddr(ref request6.ifr_addr, address.Address);
        return Ioctl(AF_INET6, SIOCDIFADDR_IN6, &request6);
    }

    /// <summary>Writes <paramref name="name"/> NUL-terminated into an IFNAMSIZ buffer.</summary>
    internal static void WriteName(Span<byte> destination, string name)
    {
        destination[..IFNAMSIZ].Clear();
        int written = Encoding.UTF8.GetBytes(name.AsSpan(0, Math.Min(name.Length, IFNAMSIZ - 1)), destination[..(IFNAMSIZ - 1)]);
        destination[written] = 0;
    }

    /// <summary>Reads a NUL-terminated interface name.</summary>
    internal static string ReadName(ReadOnlySpan<byte> source)
    {
        int end = source.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? source : source[..end]);
    }

    private static IPAddress Mask(AddressFamily family, int prefixLength)
    {
        Span<byte> bytes = stackalloc byte[family == AddressFamily.InterNetwork ? 4 : 16];
        for (int i = 0; i < bytes.Length; i++)
        {
            int bits = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] = (byte)(0xFF << (8 - bits));
        }

        return new IPAddress(bytes);
    }

    private static void WriteSockaddr(ref Interop.sockaddr_in target, IPAddress address)
    {
        fixed (Interop.sockaddr_in* p = &target)
        {
            RouteSocketMessages.WriteAddress(new Span<byte>(p, sizeof(Interop.sockaddr_in)), address);
        }
    }

    private static void WriteSockaddr(ref Interop.sockaddr_in6 target, IPAddress address)
    {
        fixed (Interop.sockaddr_in6* p = &target)
        {
            RouteSocketMessages.WriteAddress(new Span<byte>(p, sizeof(Interop.sockaddr_in6)), address);
        }
    }

    /// <summary>Runs one ioctl on a fresh datagram socket of <paramref name="family"/>; returns 0 or the errno.</summary>
    private static int Ioctl(int family, uint request, void* argument)
    {
        int fd = Interop.Libc.socket(family, SOCK_DGRAM, 0);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        try
        {
            return Interop.Libc.Ioctl(fd, request, argument) < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        finally
        {
            Interop.Libc.close(fd);
        }
    }
}
