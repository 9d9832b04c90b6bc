using System.Runtime.InteropServices;

namespace Steer.Tun.MacOS;

#pragma warning disable CS8981 // native struct names are kept as in the C headers
internal static partial class Interop
{
    /// <summary>
    /// <c>struct sockaddr_in</c> from <c>netinet/in.h</c> (BSD layout with a length byte, 16 bytes):
    /// <c>u_char sin_len; sa_family_t sin_family; in_port_t sin_port; struct in_addr sin_addr; char sin_zero[8]</c>.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct sockaddr_in
    {
        /// <summary>16.</summary>
        public byte sin_len;

        /// <summary>AF_INET.</summary>
        public byte sin_family;

        /// <summary>Port, network byte order.</summary>
        public ushort sin_port;

        /// <summary>Address, network byte order.</summary>
        public fixed byte sin_addr[4];

        /// <summary>Zero.</summary>
        public fixed byte sin_zero[8];
    }

    /// <summary>
    /// <c>struct sockaddr_in6</c> from <c>netinet6/in6.h</c> (28 bytes): <c>u_char sin6_len; sa_family_t sin6_family;
    /// in_port_t sin6_port; u_int32_t sin6_flowinfo; struct in6_addr sin6_addr; u_int32_t sin6_scope_id</c>.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct sockaddr_in6
    {
        /// <summary>28.</summary>
        public byte sin6_len;

        /// <summary>AF_INET6 (30).</summary>
        public byte sin6_family;

        /// <summary>Port, network byte order.</summary>
        public ushort sin6_port;

        /// <summary>Flow information.</summary>
        public uint sin6_flowinfo;

        /// <summary>Address, network byte order.</summary>
        public fixed byte sin6_addr[16];

        /// <summary>Scope (interface index for link-local addresses).</summary>
        public uint sin6_scope_id;
    }

    /// <summary>
    /// <c>struct sockaddr_dl</c> from <c>net/if_dl.h</c> (20 bytes): <c>u_char sdl_len, sdl_family; u_short sdl_index;
    /// u_char sdl_type, sdl_nlen, sdl_alen, sdl_slen; char sdl_data[12]</c>. With only <c>sdl_index</c> set it names an
    /// interface: the kernel looks AF_LINK gateways up by index (<c>ifa_ifwithnet</c>).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct sockaddr_dl
    {
        /// <summary>Total length (20).</summary>
        public byte sdl_len;

        /// <summary>AF_LINK.</summary>
        public byte sdl_family;

        /// <summary>Interface index, or 0.</summary>
        public ushort sdl_index;

        /// <summary>Interface type.</summary>
        public byte sdl_type;

        /// <summary>Name length.</summary>
        public byte sdl_nlen;

        /// <summary>Link-level address length.</summary>
        public byte sdl_alen;

        /// <summary>Selector length.</summary>
        public byte sdl_slen;

        /// <summary>Name and link-level address.</summary>
        public fixed byte sdl_data[12];
    }

    /// <summary><c>struct timeval</c> on 64-bit macOS: <c>long tv_sec; int tv_usec</c>, padded to 16 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct timeval
    {
        /// <summary>Seconds.</summary>
        public long tv_sec;

        /// <summary>Microseconds.</summary>
        public int tv_usec;
    }
}
#pragma warning restore CS8981
