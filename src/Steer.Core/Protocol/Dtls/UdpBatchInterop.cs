using System.Runtime.InteropServices;

namespace Steer.Protocol.Dtls;

/// <summary>
/// Linux <c>recvmmsg(2)</c> / <c>sendmmsg(2)</c> and the structures they take. Tmds.LibC 0.5.0 (referenced by
/// Steer.Tun) has <c>mmsghdr</c> but no <c>recvmmsg</c> / <c>sendmmsg</c> functions, and Steer.Core should not depend
/// on it directly, so both calls are declared here with <c>LibraryImport</c>. The runtime maps the name "libc" to the
/// C library (<c>libc.so.6</c> on glibc). The structures use <c>nint</c>/<c>nuint</c> for pointers and
/// <c>size_t</c>, so the sequential layout matches glibc on 64- and 32-bit targets (musl's 64-bit <c>int</c> + padding
/// fields read the same little-endian bytes).
/// UDP segmentation offload (<c>UDP_SEGMENT</c>, Linux 4.18) and receive coalescing (<c>UDP_GRO</c>, Linux 5.0) are
/// control messages on those same calls; neither .NET's <c>Socket</c> nor any library for .NET exposes them, so the
/// <c>cmsghdr</c> layout and the constants are written out here too (the socket options themselves go through
/// <c>Socket.SetRawSocketOption</c>).
/// </summary>
internal static unsafe partial class UdpBatchInterop
{
    /// <summary><c>MSG_DONTWAIT</c>: do not block (Linux value).</summary>
    public const int MsgDontWait = 0x40;

    /// <summary><c>MSG_TRUNC</c> in <c>msg_flags</c>: the datagram was larger than the buffer.</summary>
    public const int MsgTrunc = 0x20;

    /// <summary><c>MSG_CTRUNC</c> in <c>msg_flags</c>: the control buffer was too small for every control message.</summary>
    public const int MsgCTrunc = 0x08;

    /// <summary>errno values (Linux, all architectures Steer builds for).</summary>
    public const int EIO = 5, EINTR = 4, EAGAIN = 11, EINVAL = 22, ENOSYS = 38, EMSGSIZE = 90, ENOPROTOOPT = 92, EOPNOTSUPP = 95;

    /// <summary><c>SOL_UDP</c> (= <c>IPPROTO_UDP</c>): level of the UDP socket options and control messages.</summary>
    public const int SolUdp = 17;

    /// <summary><c>UDP_SEGMENT</c>: send-side control message (a <c>u16</c> segment size) that makes the kernel cut one
    /// message into datagrams of that size (the last may be shorter); also a socket option, read here as a probe.</summary>
    public const int UdpSegment = 103;

    /// <summary><c>UDP_GRO</c>: socket option (an <c>int</c>, 1 = on) that lets the kernel hand several datagrams of one
    /// flow back as one message, and the receive-side control message (an <c>int</c> segment size) that says so.</summary>
    public const int UdpGro = 104;

    /// <summary><c>sizeof(struct cmsghdr)</c>, already aligned: <c>size_t cmsg_len; int cmsg_level; int cmsg_type</c>.</summary>
    public static int CMsgHeaderSize => CMsgAlign(IntPtr.Size + 8);

    /// <summary><c>CMSG_ALIGN</c>: control messages are aligned to <c>size_t</c>.</summary>
    public static int CMsgAlign(int length) => (length + IntPtr.Size - 1) & ~(IntPtr.Size - 1);

    /// <summary><c>CMSG_SPACE</c>: bytes a control message with <paramref name="dataLength"/> bytes of data takes.</summary>
    public static int CMsgSpace(int dataLength) => CMsgHeaderSize + CMsgAlign(dataLength);

    /// <summary><c>CMSG_LEN</c>: the <c>cmsg_len</c> of a control message with <paramref name="dataLength"/> bytes of data.</summary>
    public static int CMsgLength(int dataLength) => CMsgHeaderSize + dataLength;

    /// <summary><c>struct cmsghdr</c> (its data follows at <see cref="CMsgHeaderSize"/>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct CMsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

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
