using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Steer.Protocol.Dtls.UdpBatchInterop;

namespace Steer.Protocol.Dtls;

/// <summary>How the DTLS sockets move datagrams: batched system calls or one call per datagram.</summary>
internal sealed record UdpBatchOptions
{
    /// <summary>Batching on (Linux), the defaults below.</summary>
    public static UdpBatchOptions Default { get; } = new();

    /// <summary>Plain <c>Socket</c> calls, one datagram each (what non-Linux systems always get).</summary>
    public static UdpBatchOptions Disabled { get; } = new() { Enabled = false };

    /// <summary>
    /// Use <c>recvmmsg</c>/<c>sendmmsg</c> where the OS has them. False forces the fallback (one
    /// <c>Socket.Receive</c>/<c>Send</c> per datagram), which is also taken when the calls fail with ENOSYS/EOPNOTSUPP.
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Datagrams per batch.</summary>
    public int Count { get; init; } = 32;

    /// <summary>Bytes per datagram slot; larger datagrams are truncated by the kernel and dropped.</summary>
    public int SlotSize { get; init; } = 2048;
}

/// <summary>
/// A batch of datagram slots for one socket and one thread, allocated once (pinned, so the kernel writes straight into
/// it): <see cref="Receive"/> takes up to <see cref="Capacity"/> datagrams with one <c>recvmmsg</c>, and
/// <see cref="TryAdd"/> + <see cref="Flush"/> send everything added with one <c>sendmmsg</c>. Where batching is not
/// available (not Linux, disabled, or the kernel answers ENOSYS/EOPNOTSUPP) the same methods fall back to one
/// <c>Socket</c> call per datagram. Nothing is allocated per datagram in either mode.
/// </summary>
internal sealed unsafe class UdpBatch
{
    /// <summary>Bytes reserved per source/destination address (a <c>sockaddr_in6</c> is 28).</summary>
    private const int NameSize = 32;

    private static volatile bool s_unavailable;

    private readonly Socket _socket;
    private readonly int _slotSize;
    private readonly byte[] _data;
    private readonly byte[] _names;
    private readonly MMsgHdr[] _headers;
    private readonly IoVec[] _vectors;
    private readonly int[] _lengths;
    private readonly SocketAddress[]? _sources;
    private SocketAddress? _scratchAddress;
    private bool _batched;
    private int _count;
    private long _syscalls;
    private long _datagrams;
    private long _dropped;

    /// <param name="socket">The UDP socket; connected, or unconnected with <paramref name="withAddresses"/>.</param>
    /// <param name="options">Batching options.</param>
    /// <param name="withAddresses">Keep a source address per received datagram (unconnected sockets).</param>
    public UdpBatch(Socket socket, UdpBatchOptions options, bool withAddresses)
    {
        _socket = socket;
        _slotSize = options.SlotSize;
        Capacity = options.Count;
        _batched = options.Enabled && IsSupported;
        _data = GC.AllocateUninitializedArray<byte>((Capacity * _slotSize) + 1, pinned: true); // +1: see the fallback receive
        _names = GC.AllocateArray<byte>(Capacity * NameSize, pinned: true);
        _headers = GC.AllocateArray<MMsgHdr>(Capacity, pinned: true);
        _vectors = GC.AllocateArray<IoVec>(Capacity, pinned: true);
        _lengths = new int[Capacity];
        if (withAddresses)
        {
            _sources = new SocketAddress[Capacity];
            for (int i = 0; i < Capacity; i++)
            {
                _sources[i] = new SocketAddress(socket.AddressFamily);
            }
        }

        // The arrays live on the pinned object heap: their addresses never change.
        byte* data = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_data));
        IoVec* vectors = (IoVec*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_vectors));
        for (int i = 0; i < Capacity; i++)
        {
            _vectors[i].Base = (nint)(data + (i * _slotSize));
            _vectors[i].Length = (nuint)_slotSize;
            _headers[i].Header.Iov = (nint)(vectors + i);
            _headers[i].Header.IovLength = 1;
        }
    }

    /// <summary>True where <c>recvmmsg</c>/<c>sendmmsg</c> can be tried (Linux, not yet refused by the kernel).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && !s_unavailable;

    /// <summary>True while this batch uses <c>recvmmsg</c>/<c>sendmmsg</c>; false in the fallback mode.</summary>
    public bool IsBatched => _batched;

    /// <summary>Datagrams per batch.</summary>
    public int Capacity { get; }

    /// <summary>Bytes per datagram slot.</summary>
    public int SlotSize => _slotSize;

    /// <summary>Datagrams received into the batch (after <see cref="Receive"/>) or added to it (before <see cref="Flush"/>).</summary>
    public int Count => _count;

    /// <summary>System calls that moved datagrams (one per batch when batched, one per datagram otherwise).</summary>
    public long Syscalls => Volatile.Read(ref _syscalls);

    /// <summary>Datagrams moved.</summary>
    public long Datagrams => Volatile.Read(ref _datagrams);

    /// <summary>Datagrams dropped: truncated on receive, refused by the OS on send.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Datagram <paramref name="index"/> of the last <see cref="Receive"/>; empty when it was dropped (truncated).</summary>
    public ReadOnlySpan<byte> Datagram(int index) => _data.AsSpan(index * _slotSize, _lengths[index]);

    /// <summary>Sender of datagram <paramref name="index"/> (only with addresses); overwritten by the next receive.</summary>
    public SocketAddress Source(int index) => _sources![index];

    /// <summary>
    /// Waits up to <paramref name="waitMillis"/> (≤ 0: forever) for a datagram, then takes every datagram already
    /// queued, up to <see cref="Capacity"/>, without waiting again. Returns how many (0: timed out).
    /// </summary>
    /// <exception cref="SocketException">The socket reported an error (e.g. ICMP port unreachable on a connected socket).</exception>
    /// <exception cref="ObjectDisposedException">The socket was closed.</exception>
    public int Receive(int waitMillis)
    {
        _count = 0;
        if (!_socket.Poll(waitMillis <= 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(waitMillis), SelectMode.SelectRead))
        {
            return 0;
        }

        if (_batched)
        {
            for (int i = 0; i < Capacity; i++)
            {
                ref MsgHdr header = ref _headers[i].Header;
                header.Flags = 0;
                if (_sources is not null)
                {
                    header.Name = NameAddress(i);
                    header.NameLength = NameSize;
                }
            }

            int received;
            fixed (MMsgHdr* headers = _headers)
            {
                received = RecvMMsg(_socket.SafeHandle, headers, (uint)Capacity, MsgDontWait, 0);
            }

            if (received >= 0)
            {
                Interlocked.Increment(ref _syscalls);
                for (int i = 0; i < received; i++)
                {
                    ref MMsgHdr message = ref _headers[i];
                    bool truncated = (message.Header.Flags & MsgTrunc) != 0;
                    _lengths[i] = truncated ? 0 : (int)message.Length;
                    if (truncated)
                    {
                        Interlocked.Increment(ref _dropped);
                    }

                    if (_sources is not null)
                    {
                        SocketAddress source = _sources[i];
                        int size = Math.Min((int)message.Header.NameLength, source.Buffer.Length);
                        _names.AsSpan(i * NameSize, size).CopyTo(source.Buffer.Span);
                        source.Size = size;
                    }
                }

                Interlocked.Add(ref _datagrams, received);
                _count = received;
                return received;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno is EAGAIN or EINTR)
            {
                return 0;
            }

            if (!Unavailable(errno))
            {
                throw new SocketException((int)ToSocketError(errno));
            }
        }

        // Fallback: one datagram per call, into the first slot plus one byte, so that a datagram larger than a slot
        // shows (Socket.Receive truncates silently on Linux).
        Span<byte> slot = _data.AsSpan(0, _slotSize + 1);
        int length;
        try
        {
            length = _sources is null ? _socket.Receive(slot, SocketFlags.None) : _socket.ReceiveFrom(slot, SocketFlags.None, _sources[0]);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.MessageSize)
        {
            length = int.MaxValue;
        }

        Interlocked.Increment(ref _syscalls);
        if (length > _slotSize)
        {
            Interlocked.Increment(ref _dropped);
            return 0;
        }

        Interlocked.Increment(ref _datagrams);
        _lengths[0] = length;
        _count = 1;
        return 1;
    }

    /// <summary>
    /// Copies a datagram into the next free slot, to be sent by <see cref="Flush"/> (to <paramref name="destination"/>,
    /// or to the connected peer when null). False when the batch is full or the datagram does not fit a slot.
    /// </summary>
    public bool TryAdd(ReadOnlySpan<byte> datagram, SocketAddress? destination)
    {
        if (_count == Capacity || datagram.Length > _slotSize)
        {
            return false;
        }

        int i = _count++;
        datagram.CopyTo(_data.AsSpan(i * _slotSize));
        _lengths[i] = datagram.Length;
        ref MsgHdr header = ref _headers[i].Header;
        header.Flags = 0;
        _vectors[i].Length = (nuint)datagram.Length;
        if (destination is null)
        {
            header.Name = 0;
            header.NameLength = 0;
        }
        else
        {
            destination.Buffer.Span[..destination.Size].CopyTo(_names.AsSpan(i * NameSize, NameSize));
            header.Name = NameAddress(i);
            header.NameLength = (uint)destination.Size;
        }

        return true;
    }

    /// <summary>
    /// Sends every datagram added since the last flush: one <c>sendmmsg</c> for all of them (more only when the kernel
    /// takes fewer), or one <c>Socket.Send</c> each in the fallback mode. UDP is best effort: a datagram the OS refuses
    /// (a firewall's EPERM, a full buffer, EMSGSIZE, an earlier ICMP error) is dropped and counted, never thrown.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The socket was closed.</exception>
    public void Flush()
    {
        int count = _count;
        _count = 0;
        int start = 0;
        if (_batched)
        {
            int retries = 0;
            while (start < count)
            {
                int sent;
                fixed (MMsgHdr* headers = _headers)
                {
                    sent = SendMMsg(_socket.SafeHandle, headers + start, (uint)(count - start), 0);
                }

                Interlocked.Increment(ref _syscalls);
                if (sent > 0)
                {
                    start += sent;
                    Interlocked.Add(ref _datagrams, sent);
                    retries = 0;
                    continue;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (Unavailable(errno))
                {
                    break; // The rest goes out one by one below.
                }

                if (errno == EINTR && retries++ < 3)
                {
                    continue;
                }

                if (errno == EAGAIN && retries++ < 3)
                {
                    _socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectWrite);
                    continue;
                }

                // This datagram was refused; the ones behind it still go.
                Interlocked.Increment(ref _dropped);
                start++;
                retries = 0;
            }

            RestoreVectorLengths(count);
            if (_batched)
            {
                return;
            }
        }

        for (int i = start; i < count; i++)
        {
            SendOne(_data.AsSpan(i * _slotSize, _lengths[i]), _headers[i].Header.NameLength == 0 ? null : i);
        }

        RestoreVectorLengths(count);
    }

    /// <summary>
    /// Sends one datagram at once, bypassing the batch (for sends from other threads). Best effort, as UDP is: an
    /// error (a firewall's EPERM, a full buffer, an earlier ICMP error) drops the datagram and is counted.
    /// </summary>
    public void SendNow(ReadOnlySpan<byte> datagram, SocketAddress? destination)
    {
        try
        {
            if (destination is null)
            {
                _socket.Send(datagram, SocketFlags.None);
            }
            else
            {
                _socket.SendTo(datagram, SocketFlags.None, destination);
            }

            Interlocked.Increment(ref _datagrams);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _dropped);
        }

        Interlocked.Increment(ref _syscalls);
    }

    private void SendOne(ReadOnlySpan<byte> datagram, int? nameIndex)
    {
        try
        {
            if (nameIndex is not int i)
            {
                _socket.Send(datagram, SocketFlags.None);
            }
            else
            {
                SocketAddress destination = _scratchAddress ??= new SocketAddress(_socket.AddressFamily);
                int size = (int)_headers[i].Header.NameLength;
                _names.AsSpan(i * NameSize, size).CopyTo(destination.Buffer.Span);
                destination.Size = size;
                _socket.SendTo(datagram, SocketFlags.None, destination);
            }

            Interlocked.Increment(ref _datagrams);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _dropped);
        }

        Interlocked.Increment(ref _syscalls);
    }

    private void RestoreVectorLengths(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _vectors[i].Length = (nuint)_slotSize;
        }
    }

    private nint NameAddress(int index) => (nint)((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_names)) + (index * NameSize));

    /// <summary>ENOSYS/EOPNOTSUPP: the kernel (or a seccomp filter) has no batched calls; fall back for good.</summary>
    private bool Unavailable(int errno)
    {
        if (errno is not (ENOSYS or EOPNOTSUPP))
        {
            return false;
        }

        s_unavailable = true;
        _batched = false;
        return true;
    }

    private static SocketError ToSocketError(int errno) => errno switch
    {
        1 or 13 => SocketError.AccessDenied,         // EPERM, EACCES
        9 => SocketError.OperationAborted,           // EBADF
        90 => SocketError.MessageSize,               // EMSGSIZE
        100 => SocketError.NetworkDown,              // ENETDOWN
        101 => SocketError.NetworkUnreachable,       // ENETUNREACH
        104 => SocketError.ConnectionReset,          // ECONNRESET
        105 => SocketError.NoBufferSpaceAvailable,   // ENOBUFS
        111 => SocketError.ConnectionRefused,        // ECONNREFUSED
        112 => SocketError.HostDown,                 // EHOSTDOWN
        113 => SocketError.HostUnreachable,          // EHOSTUNREACH
        _ => SocketError.SocketError,
    };
}
