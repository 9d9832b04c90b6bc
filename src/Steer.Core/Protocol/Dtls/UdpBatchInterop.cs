using System.Runtime.InteropServices;

namespace Steer.Protocol.Dtls;

/// <summary>
/// Linux <c>recvmmsg(2)</c> / <c>sendmmsg(2)</c> and the structures they take. Tmds.LibC 0.5.0 (referenced by
/// Steer.Tun) has <c>mmsghdr</c> but no <c>recvmmsg</c> / <c>sendmmsg</c> functions, and Steer.Core should not depend
/// on it directly, so both calls are declared here with <c>LibraryImport</c>. The runtime maps the name "libc" to the
/// C library (<c>libc.so.6</c> on glibc). The structures use <c>nint</c>/<c>nuint</c> for pointers and
/// <c>size_t</c>, so the sequential layout matches glibc on 64- and 32-bit targets (musl's 64-bit <c>int</c> + padding
/// fields read the same little-endian bytes).
/// </summary>
internal static unsafe partial class UdpBatchInterop
{
    /// <summary><c>MSG_DONTWAIT</c>: do not block (Linux value).</summary>
    public const int MsgDontWait = 0x40;

    /// <summary><c>MSG_TRUNC</c> in <c>msg_flags</c>: the datagram was larger than the buffer.</summary>
    public const int MsgTrunc = 0x20;

    /// <summary>errno values (Linux, all architectures Steer builds for).</summary>
    public const int EINTR = 4, EAGAIN = 11, ENOSYS = 38, EOPNOTSUPP = 95;

    /// <summary><c>struct iovec</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    /// <summary><c>struct msghdr</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public nint Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary><c>struct mmsghdr</c>: a <c>msghdr</c> and the byte count the kernel transferred.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    /// <summary><c>int recvmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags, struct timespec *timeout)</c>.</summary>
    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    internal static partial int RecvMMsg(SafeHandle fd, MMsgHdr* messages, uint count, int flags, nint timeout);

    /// <summary><c>int sendmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags)</c>.</summary>
    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    internal static partial int SendMMsg(SafeHandle fd, MMsgHdr* messages, uint count, int flags);
}
