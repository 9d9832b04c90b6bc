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

        /// <summary>A <c>struct virtio_net_hdr</c> in front of each packet read or written (offloads).</summary>
        internal const short IFF_VNET_HDR = 0x4000;

        /// <summary>_IOR('T', 207, unsigned int): the IFF_* flags this kernel's TUN driver supports.</summary>
        internal const int TUNGETFEATURES = unchecked((int)0x800454CF);

        /// <summary>_IOW('T', 208, unsigned int): the offloads user space can take (the argument is the value itself).</summary>
        internal const int TUNSETOFFLOAD = 0x400454D0;

        /// <summary>_IOW('T', 216, int): the size of the virtio header (the argument points to an int).</summary>
        internal const int TUNSETVNETHDRSZ = 0x400454D8;

        /// <summary>TUN_F_CSUM: user space accepts packets with a partial checksum.</summary>
        internal const uint TUN_F_CSUM = 0x01;

        /// <summary>TUN_F_TSO4: user space accepts TCPv4 super-packets (needs TUN_F_CSUM).</summary>
        internal const uint TUN_F_TSO4 = 0x02;

        /// <summary>TUN_F_TSO6: user space accepts TCPv6 super-packets (needs TUN_F_CSUM).</summary>
        internal const uint TUN_F_TSO6 = 0x04;
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
