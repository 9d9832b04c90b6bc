using System.Runtime.InteropServices;

namespace Steer.Tun.MacOS;

#pragma warning disable CS8981 // native struct names are kept as in the C headers
internal static partial class Interop
{
    /// <summary>
    /// <c>struct ifreq</c> from macOS <c>net/if.h</c>: a 16-byte name and a union whose largest members are a
    /// <c>struct sockaddr</c> and <c>struct ifkpi</c> (16 bytes each) and whose alignment is that of <c>caddr_t</c>:
    /// 32 bytes on 64-bit macOS. Only the union members used here are declared.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 32)]
    internal unsafe struct ifreq
    {
        /// <summary>Interface name, NUL-terminated.</summary>
        [FieldOffset(0)]
        public fixed byte ifr_name[SocketConstants.IFNAMSIZ];

        /// <summary>Interface flags (SIOCGIFFLAGS / SIOCSIFFLAGS).</summary>
        [FieldOffset(16)]
        public short ifr_flags;

        /// <summary>MTU (SIOCGIFMTU / SIOCSIFMTU).</summary>
        [FieldOffset(16)]
        public int ifr_mtu;

        /// <summary>Address (SIOCDIFADDR).</summary>
        [FieldOffset(16)]
        public sockaddr_in ifr_addr;
    }

    /// <summary>
    /// <c>struct ifaliasreq</c> from <c>net/if.h</c>: name plus address, broadcast (destination on a point-to-point
    /// link) and mask, each a 16-byte <c>struct sockaddr</c> (64 bytes). Used with SIOCAIFADDR.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct ifaliasreq
    {
        /// <summary>Interface name, NUL-terminated.</summary>
        public fixed byte ifra_name[SocketConstants.IFNAMSIZ];

        /// <summary>The address.</summary>
        public sockaddr_in ifra_addr;

        /// <summary>Broadcast address, or the peer address of a point-to-point interface.</summary>
        public sockaddr_in ifra_broadaddr;

        /// <summary>The netmask.</summary>
        public sockaddr_in ifra_mask;
    }

    /// <summary>
    /// <c>struct in6_addrlifetime</c> from <c>netinet6/in6_var.h</c>: <c>time_t ia6t_expire, ia6t_preferred;
    /// u_int32_t ia6t_vltime, ia6t_pltime</c> (24 bytes, 8-aligned).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct in6_addrlifetime
    {
        /// <summary>Valid lifetime expiration time.</summary>
        public long ia6t_expire;

        /// <summary>Preferred lifetime expiration time.</summary>
        public long ia6t_preferred;

        /// <summary>Valid lifetime in seconds; ND6_INFINITE_LIFETIME for ever.</summary>
        public uint ia6t_vltime;

        /// <summary>Preferred lifetime in seconds; ND6_INFINITE_LIFETIME for ever.</summary>
        public uint ia6t_pltime;
    }

    /// <summary>
    /// <c>struct in6_aliasreq</c> from <c>netinet6/in6_var.h</c>: name, three <c>sockaddr_in6</c> (address, destination,
    /// prefix mask), <c>int ifra_flags</c> and an <c>in6_addrlifetime</c> at offset 104: 128 bytes. Used with
    /// SIOCAIFADDR_IN6.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct in6_aliasreq
    {
        /// <summary>Interface name, NUL-terminated.</summary>
        public fixed byte ifra_name[SocketConstants.IFNAMSIZ];

        /// <summary>The address.</summary>
        public sockaddr_in6 ifra_addr;

        /// <summary>Destination address (left empty: a point-to-point destination forces a /128).</summary>
        public sockaddr_in6 ifra_dstaddr;

        /// <summary>The prefix mask.</summary>
        public sockaddr_in6 ifra_prefixmask;

        /// <summary>IN6_IFF_* flags, e.g. IN6_IFF_NODAD.</summary>
        public int ifra_flags;

        /// <summary>Lifetimes.</summary>
        public in6_addrlifetime ifra_lifetime;
    }

    /// <summary>
    /// <c>struct in6_ifreq</c> from <c>netinet6/in6_var.h</c>: a 16-byte name and a union whose largest member is
    /// <c>struct icmp6_ifstat</c> (34 <c>u_quad_t</c> counters, 272 bytes): 288 bytes. Used with SIOCDIFADDR_IN6.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 288)]
    internal unsafe struct in6_ifreq
    {
        /// <summary>Interface name, NUL-terminated.</summary>
        [FieldOffset(0)]
        public fixed byte ifr_name[SocketConstants.IFNAMSIZ];

        /// <summary>Address (SIOCDIFADDR_IN6).</summary>
        [FieldOffset(16)]
        public sockaddr_in6 ifr_addr;
    }

    /// <summary>Address flags and lifetimes from <c>netinet6/in6_var.h</c> and <c>netinet6/nd6.h</c>.</summary>
    internal static class In6Constants
    {
        /// <summary>IN6_IFF_NODAD: skip duplicate address detection.</summary>
        internal const int IN6_IFF_NODAD = 0x0020;

        /// <summary>ND6_INFINITE_LIFETIME.</summary>
        internal const uint ND6_INFINITE_LIFETIME = 0xFFFFFFFF;
    }
}
#pragma warning restore CS8981
