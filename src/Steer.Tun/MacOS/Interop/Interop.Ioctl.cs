using System.Runtime.InteropServices;

namespace Steer.Tun.MacOS;

internal static partial class Interop
{
    /// <summary>
    /// ioctl request numbers, each built as in <c>sys/ioccom.h</c>: direction | (sizeof(arg) &amp; IOCPARM_MASK) &lt;&lt; 16 |
    /// group &lt;&lt; 8 | number. The sizes are those of the 64-bit structs declared in this folder (unit-tested).
    /// </summary>
    internal static class IoctlRequests
    {
        /// <summary>IOC_VOID: no parameters.</summary>
        internal const uint IOC_VOID = 0x20000000;

        /// <summary>IOC_OUT: copy parameters out.</summary>
        internal const uint IOC_OUT = 0x40000000;

        /// <summary>IOC_IN: copy parameters in.</summary>
        internal const uint IOC_IN = 0x80000000;

        /// <summary>IOC_INOUT.</summary>
        internal const uint IOC_INOUT = IOC_IN | IOC_OUT;

        /// <summary>IOCPARM_MASK: parameters are at most 8191 bytes.</summary>
        internal const uint IOCPARM_MASK = 0x1FFF;

        /// <summary>FIOCLEX = _IO('f', 1): set close-on-exec.</summary>
        internal const uint FIOCLEX = 0x20006601;

        /// <summary>CTLIOCGINFO = _IOWR('N', 3, struct ctl_info): kernel control name to id.</summary>
        internal const uint CTLIOCGINFO = 0xC0644E03;

        /// <summary>SIOCSIFFLAGS = _IOW('i', 16, struct ifreq).</summary>
        internal const uint SIOCSIFFLAGS = 0x80206910;

        /// <summary>SIOCGIFFLAGS = _IOWR('i', 17, struct ifreq).</summary>
        internal const uint SIOCGIFFLAGS = 0xC0206911;

        /// <summary>SIOCDIFADDR = _IOW('i', 25, struct ifreq).</summary>
        internal const uint SIOCDIFADDR = 0x80206919;

        /// <summary>SIOCAIFADDR = _IOW('i', 26, struct ifaliasreq).</summary>
        internal const uint SIOCAIFADDR = 0x8040691A;

        /// <summary>SIOCGIFMTU = _IOWR('i', 51, struct ifreq).</summary>
        internal const uint SIOCGIFMTU = 0xC0206933;

        /// <summary>SIOCSIFMTU = _IOW('i', 52, struct ifreq).</summary>
        internal const uint SIOCSIFMTU = 0x80206934;

        /// <summary>SIOCDIFADDR_IN6 = _IOW('i', 25, struct in6_ifreq).</summary>
        internal const uint SIOCDIFADDR_IN6 = 0x81206919;

        /// <summary>SIOCAIFADDR_IN6 = _IOW('i', 26, struct in6_aliasreq).</summary>
        internal const uint SIOCAIFADDR_IN6 = 0x8080691A;

        /// <summary>Computes a request number the way the <c>_IO</c>/<c>_IOR</c>/<c>_IOW</c>/<c>_IOWR</c> macros do.</summary>
        internal static uint Encode(uint direction, char group, int number, int parameterSize)
            => direction | (((uint)parameterSize & IOCPARM_MASK) << 16) | ((uint)group << 8) | (uint)number;
    }

    internal static partial class Libc
    {
        /// <summary>
        /// Calls <c>int ioctl(int fd, unsigned long request, ...)</c> with one pointer argument.
        /// </summary>
        /// <remarks>
        /// ioctl is variadic. On Apple arm64 the variadic arguments go on the stack while named arguments use x0–x7, so a
        /// plain three-argument declaration would put <paramref name="argument"/> in x2, where the callee never looks.
        /// There, six padding arguments fill x2–x7 and the pointer lands in the first stack slot, exactly where
        /// <c>va_arg</c> reads it. On x86-64 variadic arguments are passed like named ones, so the plain form is right.
        /// </remarks>
        internal static unsafe int Ioctl(int fd, uint request, void* argument)
            => RuntimeInformation.ProcessArchitecture == Architecture.Arm64
                ? ioctl_arm64_variadic(fd, new CULong(request), 0, 0, 0, 0, 0, 0, argument)
                : ioctl(fd, new CULong(request), argument);

        /// <summary><c>int ioctl(int fd, unsigned long request, void *arg)</c> for ABIs that pass variadic arguments in registers.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        private static unsafe partial int ioctl(int fd, CULong request, void* argument);

        /// <summary>ioctl for Apple arm64: x2–x7 padded so that the variadic argument is passed on the stack.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        private static unsafe partial int ioctl_arm64_variadic(int fd, CULong request, nint x2, nint x3, nint x4, nint x5, nint x6, nint x7, void* argument);
    }
}
