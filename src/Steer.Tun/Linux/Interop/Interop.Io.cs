using System.Runtime.InteropServices;

namespace Steer.Tun.Linux;

internal static partial class Interop
{
    /// <summary>
    /// <c>writev(2)</c>: Tmds.LibC 0.5.0 has <c>struct iovec</c> but no <c>writev</c>, so it is declared here with
    /// <c>LibraryImport</c> (the runtime maps "libc" to the C library). The offloading TUN writes the virtio header and
    /// the caller's packet as two buffers in one call instead of copying them together.
    /// </summary>
    internal static unsafe partial class Io
    {
        /// <summary><c>struct iovec</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct IoVec
        {
            /// <summary>iov_base.</summary>
            public void* Base;

            /// <summary>iov_len.</summary>
            public nuint Length;
        }

        /// <summary><c>ssize_t writev(int fd, const struct iovec *iov, int iovcnt);</c> Read errno with <see cref="Marshal.GetLastPInvokeError"/>.</summary>
        [LibraryImport("libc", EntryPoint = "writev", SetLastError = true)]
        internal static partial nint writev(int fd, IoVec* iov, int iovcnt);
    }
}
