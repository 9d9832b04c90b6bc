using System.Runtime.InteropServices;

namespace Steer.Tun.MacOS;

#pragma warning disable CS8981 // native struct names are kept as in the C headers
internal static partial class Interop
{
    /// <summary>
    /// <c>struct rt_metrics</c> from macOS <c>net/route.h</c>: ten 32-bit fields and <c>rmx_filler[4]</c> (56 bytes).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct rt_metrics
    {
        /// <summary>Metrics the kernel leaves alone.</summary>
        public uint rmx_locks;

        /// <summary>MTU for this path.</summary>
        public uint rmx_mtu;

        /// <summary>Maximum hops expected.</summary>
        public uint rmx_hopcount;

        /// <summary>Lifetime for the route.</summary>
        public int rmx_expire;

        /// <summary>Inbound delay-bandwidth product.</summary>
        public uint rmx_recvpipe;

        /// <summary>Outbound delay-bandwidth product.</summary>
        public uint rmx_sendpipe;

        /// <summary>Outbound gateway buffer limit.</summary>
        public uint rmx_ssthresh;

        /// <summary>Estimated round-trip time.</summary>
        public uint rmx_rtt;

        /// <summary>Estimated RTT variance.</summary>
        public uint rmx_rttvar;

        /// <summary>Packets sent using this route.</summary>
        public uint rmx_pksent;

        /// <summary>Reserved.</summary>
        public fixed uint rmx_filler[4];
    }

    /// <summary>
    /// <c>struct rt_msghdr</c> from macOS <c>net/route.h</c> (92 bytes): <c>u_short rtm_msglen; u_char rtm_version,
    /// rtm_type; u_short rtm_index; int rtm_flags, rtm_addrs; pid_t rtm_pid; int rtm_seq, rtm_errno, rtm_use;
    /// u_int32_t rtm_inits; struct rt_metrics rtm_rmx</c>. The socket addresses follow it, each padded to 4 bytes.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct rt_msghdr
    {
        /// <summary>Length of the whole message including the socket addresses.</summary>
        public ushort rtm_msglen;

        /// <summary>RTM_VERSION.</summary>
        public byte rtm_version;

        /// <summary>Message type (RTM_ADD, RTM_DELETE, RTM_GET, ...).</summary>
        public byte rtm_type;

        /// <summary>Interface index.</summary>
        public ushort rtm_index;

        /// <summary>RTF_* flags.</summary>
        public int rtm_flags;

        /// <summary>RTA_* bitmask of the socket addresses that follow.</summary>
        public int rtm_addrs;

        /// <summary>Sender's process id (set by the kernel).</summary>
        public int rtm_pid;

        /// <summary>Sequence number chosen by the sender.</summary>
        public int rtm_seq;

        /// <summary>Why the request failed.</summary>
        public int rtm_errno;

        /// <summary>From rtentry.</summary>
        public int rtm_use;

        /// <summary>Which metrics are being initialized.</summary>
        public uint rtm_inits;

        /// <summary>The metrics.</summary>
        public rt_metrics rtm_rmx;
    }

    /// <summary>Routing-socket constants from macOS <c>net/route.h</c>.</summary>
    internal static class RouteConstants
    {
        /// <summary>RTM_VERSION.</summary>
        internal const byte RTM_VERSION = 5;

        /// <summary>RTM_ADD.</summary>
        internal const byte RTM_ADD = 0x1;

        /// <summary>RTM_DELETE.</summary>
        internal const byte RTM_DELETE = 0x2;

        /// <summary>RTM_GET.</summary>
        internal const byte RTM_GET = 0x4;

        /// <summary>RTF_UP: route usable.</summary>
        internal const int RTF_UP = 0x1;

        /// <summary>RTF_GATEWAY: destination is a gateway.</summary>
        internal const int RTF_GATEWAY = 0x2;

        /// <summary>RTF_HOST: host entry (net otherwise).</summary>
        internal const int RTF_HOST = 0x4;

        /// <summary>RTF_REJECT: host or net unreachable.</summary>
        internal const int RTF_REJECT = 0x8;

        /// <summary>RTF_STATIC: manually added.</summary>
        internal const int RTF_STATIC = 0x800;

        /// <summary>RTF_BLACKHOLE: discard packets.</summary>
        internal const int RTF_BLACKHOLE = 0x1000;

        /// <summary>RTA_DST.</summary>
        internal const int RTA_DST = 0x1;

        /// <summary>RTA_GATEWAY.</summary>
        internal const int RTA_GATEWAY = 0x2;

        /// <summary>RTA_NETMASK.</summary>
        internal const int RTA_NETMASK = 0x4;

        /// <summary>RTA_GENMASK.</summary>
        internal const int RTA_GENMASK = 0x8;

        /// <summary>RTA_IFP.</summary>
        internal const int RTA_IFP = 0x10;

        /// <summary>RTA_IFA.</summary>
        internal const int RTA_IFA = 0x20;

        /// <summary>RTAX_MAX: number of socket-address slots.</summary>
        internal const int RTAX_MAX = 8;
    }
}
#pragma warning restore CS8981
