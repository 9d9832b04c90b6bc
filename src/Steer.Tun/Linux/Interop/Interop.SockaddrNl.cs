using System.Runtime.InteropServices;

namespace Steer.Tun.Linux;

internal static partial class Interop
{
    /// <summary><c>struct sockaddr_nl</c> from <c>linux/netlink.h</c> (12 bytes).</summary>
#pragma warning disable CS8981 // native struct names are kept as in the C headers
    [StructLayout(LayoutKind.Sequential)]
    internal struct sockaddr_nl
    {
        /// <summary>AF_NETLINK.</summary>
        public ushort nl_family;

        /// <summary>Zero.</summary>
        public ushort nl_pad;

        /// <summary>Port id; 0 is the kernel.</summary>
        public uint nl_pid;

        /// <summary>Multicast group mask.</summary>
        public uint nl_groups;
    }

    /// <summary><c>struct timeval</c> for SO_RCVTIMEO on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct timeval
    {
        /// <summary>Seconds.</summary>
        public long tv_sec;

        /// <summary>Microseconds.</summary>
        public long tv_usec;
    }
#pragma warning restore CS8981
}
