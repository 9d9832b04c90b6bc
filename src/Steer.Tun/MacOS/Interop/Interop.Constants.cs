namespace Steer.Tun.MacOS;

internal static partial class Interop
{
    /// <summary>Socket constants from macOS <c>sys/socket.h</c>, <c>sys/sys_domain.h</c> and <c>netinet/in.h</c>.</summary>
    internal static class SocketConstants
    {
        /// <summary>AF_UNSPEC.</summary>
        internal const int AF_UNSPEC = 0;

        /// <summary>AF_INET.</summary>
        internal const int AF_INET = 2;

        /// <summary>AF_ROUTE / PF_ROUTE: the routing socket.</summary>
        internal const int AF_ROUTE = 17;

        /// <summary>AF_LINK: link-level addresses (<c>sockaddr_dl</c>).</summary>
        internal const int AF_LINK = 18;

        /// <summary>AF_INET6 (30 on macOS, unlike Linux's 10).</summary>
        internal const int AF_INET6 = 30;

        /// <summary>AF_SYSTEM / PF_SYSTEM: kernel event and kernel control sockets.</summary>
        internal const int AF_SYSTEM = 32;

        /// <summary>AF_SYS_CONTROL: the <c>ss_sysaddr</c> of a kernel control address.</summary>
        internal const int AF_SYS_CONTROL = 2;

        /// <summary>SYSPROTO_CONTROL: protocol (and socket-option level) of kernel control sockets.</summary>
        internal const int SYSPROTO_CONTROL = 2;

        /// <summary>SOCK_DGRAM.</summary>
        internal const int SOCK_DGRAM = 2;

        /// <summary>SOCK_RAW.</summary>
        internal const int SOCK_RAW = 3;

        /// <summary>SOL_SOCKET (0xffff on BSD).</summary>
        internal const int SOL_SOCKET = 0xFFFF;

        /// <summary>SO_RCVTIMEO.</summary>
        internal const int SO_RCVTIMEO = 0x1006;

        /// <summary>SHUT_RD for <c>shutdown(2)</c>.</summary>
        internal const int SHUT_RD = 0;

        /// <summary>IFNAMSIZ: interface names are at most 15 bytes plus the terminating NUL.</summary>
        internal const int IFNAMSIZ = 16;

        /// <summary>IFF_UP from <c>net/if.h</c>.</summary>
        internal const short IFF_UP = 0x1;
    }

    /// <summary>Names and options of the utun kernel control (<c>net/if_utun.h</c>).</summary>
    internal static class UtunConstants
    {
        /// <summary>UTUN_CONTROL_NAME, NUL-terminated.</summary>
        internal static ReadOnlySpan<byte> ControlName => "com.apple.net.utun_control\0"u8;

        /// <summary>UTUN_OPT_IFNAME: getsockopt at SYSPROTO_CONTROL returns the interface name.</summary>
        internal const int UTUN_OPT_IFNAME = 2;

        /// <summary>MAX_KCTL_NAME from <c>sys/kern_control.h</c>.</summary>
        internal const int MAX_KCTL_NAME = 96;
    }
}
