using System.Runtime.InteropServices;

namespace Steer.Tun.Linux;

internal static partial class Interop
{
    /// <summary>Constants from <c>linux/if_tun.h</c>, <c>linux/sockios.h</c> and <c>net/if.h</c>.</summary>
    internal static class IfReqConstants
    {
        /// <summary>IFNAMSIZ: interface names are at most 15 bytes plus the terminating NUL.</summary>
        internal const int IFNAMSIZ = 16;

        /// <summary>_IOW('T', 202, int): attach the fd to a (new) TUN/TAP interface.</summary>
        internal const int TUNSETIFF = 0x400454CA;

        /// <summary>TUN (layer 3) device.</summary>
        internal const short IFF_TUN = 0x0001;

        /// <summary>No 4-byte packet-information header in front of each packet.</summary>
        internal const short IFF_NO_PI = 0x1000;
    }

    /// <summary>
    /// <c>struct ifreq</c> from <c>net/if.h</c>: a 16-byte name followed by a union whose largest member
    /// (<c>struct ifmap</c>) makes the struct 40 bytes on 64-bit Linux. Only the union members used here are declared.
    /// </summary>
#pragma warning disable CS8981 // native struct names are kept as in the C headers
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    internal unsafe struct ifreq
    {
        /// <summary>Interface name, NUL-terminated.</summary>
        [FieldOffset(0)]
        public fixed byte ifr_name[IfReqConstants.IFNAMSIZ];

        /// <summary>Interface flags (TUNSETIFF: IFF_TUN, IFF_NO_PI).</summary>
        [FieldOffset(16)]
        public short ifr_flags;

        /// <summary>Interface index (SIOCGIFINDEX).</summary>
        [FieldOffset(16)]
        public int ifr_ifindex;

        /// <summary>MTU (SIOCSIFMTU).</summary>
        [FieldOffset(16)]
        public int ifr_mtu;
    }
#pragma warning restore CS8981
}
