using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Tun.Linux.Offload;
using static Steer.Tun.Linux.Interop.IfReqConstants;
using static Tmds.Linux.LibC;

namespace Steer.Tun.Linux;

/// <summary>
/// A Linux TUN device: <c>/dev/net/tun</c> attached with TUNSETIFF (IFF_TUN | IFF_NO_PI, and IFF_VNET_HDR with
/// offloads). The non-blocking fd is wrapped in a <see cref="Socket"/> so that reads and writes go through the
/// runtime's epoll engine (the runtime uses read/write for a handle that is not a socket): no thread per device and no
/// allocation per packet.
/// </summary>
/// <remarks>
/// With offloads (<see cref="TunDeviceOptions.Offload"/>) the kernel prefixes every packet with a
/// <c>struct virtio_net_hdr</c> and may hand out TCP super-packets of up to 64 KiB and packets with a partial checksum
/// (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6). The device reads into one buffer of its own (<see cref="OffloadReader"/>),
/// completes checksums and cuts super-packets into segments, handing out one per <see cref="ReadAsync"/>, so callers
/// still see one ordinary IP packet per read. Writes prepend an all-zero header with <c>writev(2)</c>.
/// </remarks>
[SupportedOSPlatform("linux")]
internal sealed class LinuxTunDevice : ITunDevice
{
    private const string TunPath = "/dev/net/tun";

    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle;
    private readonly ILogger _logger;
    private readonly OffloadReader? _offload;
    private long _superPacketsRefused;
    private int _disposed;

    private LinuxTunDevice(Socket socket, string name, int interfaceIndex, int mtu, bool offload, string? offloadFallback, ILogger logger)
    {
        _socket = socket;
        _handle = socket.SafeHandle;
        Name = name;
        InterfaceIndex = interfaceIndex;
        Mtu = mtu;
        _offload = offload ? new OffloadReader() : null;
        OffloadFallbackReason = offloadFallback;
        _logger = logger;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int InterfaceIndex { get; }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    public bool OffloadEnabled => _offload is not null;

    /// <summary>Why offloads were asked for but are off (null when they are on or were not asked for).</summary>
    internal string? OffloadFallbackReason { get; }

    /// <summary>The offload read path and its counters (super-packets, segments, drops); null without offloads.</summary>
    internal OffloadReader? Offload => _offload;

    /// <summary>Opens <c>/dev/net/tun</c>, creates the interface (with offloads when asked and possible) and sets its MTU.</summary>
    public static unsafe LinuxTunDevice Create(TunDeviceOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        logger ??= NullLogger.Instance;
        string requested = options.Name;

        int fd = OpenTun(requested);
        SafeSocketHandle? handle = null;
        try
        {
            string? name = null;
            string? fallback = null;
            if (options.Offload)
            {
                fallback = TryAttachWithOffload(ref fd, requested, options.OffloadFlags, out name);
            }

            if (name is null)
            {
                int error = Attach(fd, requested, IFF_TUN | IFF_NO_PI, out name);
                if (error != 0)
                {
                    throw LinuxErrors.TunCreateFailed(requested, "ioctl(TUNSETIFF)", error, Environment.ProcessPath);
                }
            }

            int index = ConfigureLink(name, options.Mtu);

            handle = new SafeSocketHandle(fd, ownsHandle: true);
            fd = -1; // The handle owns the descriptor from here on.
            var socket = new Socket(handle);
            bool offload = options.Offload && fallback is null;
            var device = new LinuxTunDevice(socket, name, index, options.Mtu, offload, fallback, logger);
            TunLog.TunCreated(logger, name, index, options.Mtu);
            if (fallback is not null)
            {
                TunLog.OffloadUnavailable(logger, name, fallback);
            }

            return device;
        }
        catch
        {
            handle?.Dispose();
            if (fd >= 0)
            {
                close(fd);
            }

            throw;
        }
    }

    /// <summary>
    /// Attaches <paramref name="fd"/> with IFF_VNET_HDR, sets the header size and the offloads. On success returns
    /// null and the interface name; otherwise returns why and leaves <paramref name="fd"/> unattached (reopened when
    /// the interface had already been created, which closing the first descriptor deletes), for a plain attach.
    /// </summary>
    private static unsafe string? TryAttachWithOffload(ref int fd, string requested, uint flags, out string? name)
    {
        name = null;
        uint features = 0;
        if (ioctl(fd, TUNGETFEATURES, &features) < 0)
        {
            return "ioctl(TUNGETFEATURES) failed: " + LinuxErrors.Name(errno);
        }

        if ((features & (uint)(ushort)IFF_VNET_HDR) == 0)
        {
            return "the kernel's TUN driver has no IFF_VNET_HDR";
        }

        int error = Attach(fd, requested, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, out string attached);
        if (error != 0)
        {
            if (LinuxErrors.IsPermissionDenied(error) || error == LinuxErrors.EBUSY)
            {
                // Not about offloads: a plain attach fails the same way and reports it.
                return "ioctl(TUNSETIFF) failed: " + LinuxErrors.Name(error);
            }

            return "ioctl(TUNSETIFF, IFF_VNET_HDR) failed: " + LinuxErrors.Name(error);
        }

        int size = VirtioNetHeader.Size;
        string? failure = null;
        if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0)
        {
            failure = "ioctl(TUNSETVNETHDRSZ, 10) failed: " + LinuxErrors.Name(errno);
        }
        else if (ioctl(fd, TUNSETOFFLOAD, (void*)flags) < 0)
        {
            failure = $"ioctl(TUNSETOFFLOAD, 0x{flags:x}) failed: " + LinuxErrors.Name(errno);
        }

        if (failure is null)
        {
            name = attached;
            return null;
        }

        // The interface exists with IFF_VNET_HDR but without offloads: start over without the header.
        close(fd);
        fd = -1;
        fd = OpenTun(requested);
        return failure;
    }

    private static unsafe int OpenTun(string requested)
    {
        int fd;
        fixed (byte* path = "/dev/net/tun\0"u8)
        {
            fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        }

        if (fd < 0)
        {
            throw LinuxErrors.TunCreateFailed(requested, "open " + TunPath, errno, Environment.ProcessPath);
        }

        return fd;
    }

    /// <summary>TUNSETIFF; returns 0 and the name the kernel chose, or the errno.</summary>
    private static unsafe int Attach(int fd, string requested, int flags, out string name)
    {
        Interop.ifreq request = default;
        WriteName(ref request, requested);
        request.ifr_flags = (short)flags;
        if (ioctl(fd, TUNSETIFF, &request) < 0)
        {
            name = requested;
            return errno;
        }

        name = ReadName(ref request);
        return 0;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A packet longer than <paramref name="buffer"/> is truncated by the kernel (without offloads) or dropped and
    /// counted (with offloads), so pass at least <see cref="Mtu"/> bytes. The read waits on the runtime's epoll engine; a
    /// completed read allocates nothing, and a read that has to wait uses a pooled state machine. With offloads, the
    /// segments of a super-packet after the first are handed out without a system call.
    /// </remarks>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_offload is not null)
        {
            return ReadOffloaded(_offload, buffer, cancellationToken);
        }

        ValueTask<int> pending;
        try
        {
            pending = _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        }
        catch (SocketException e)
        {
            throw Translate(e, "read from");
        }

        return pending.IsCompletedSuccessfully ? pending : AwaitReadAsync(pending);
    }

    /// <summary>
    /// Hands out the next pending segment, or reads until a read yields a packet (malformed reads are dropped and
    /// counted by <paramref name="reader"/>); stays synchronous while the kernel has data.
    /// </summary>
    private ValueTask<int> ReadOffloaded(OffloadReader reader, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (reader.HasPending)
            {
                int segment = reader.Next(buffer.Span);
                if (segment >= 0)
                {
                    return new ValueTask<int>(segment);
                }

                continue; // The rest did not fit and was dropped: read again.
            }

            ValueTask<int> pending;
            try
            {
                pending = _socket.ReceiveAsync(reader.ReceiveBuffer, SocketFlags.None, cancellationToken);
            }
            catch (SocketException e)
            {
                throw Translate(e, "read from");
            }

            if (!pending.IsCompletedSuccessfully)
            {
                return AwaitOffloadedReadAsync(reader, pending, buffer, cancellationToken);
            }

            int length = reader.Accept(pending.Result, buffer.Span);
            if (length >= 0)
            {
                return new ValueTask<int>(length);
            }
        }
    }

    /// <summary>Awaits an offloaded read that did not complete at once; pooled, so allocation-free.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitOffloadedReadAsync(OffloadReader reader, ValueTask<int> pending, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            int received;
            try
            {
                received = await pending.ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw Translate(e, "read from");
            }

            int length = reader.Accept(received, buffer.Span);
            if (length >= 0)
            {
                return length;
            }

            // Dropped: read again (ReceiveAsync is safe to call here; the reader has nothing pending after a drop).
            try
            {
                pending = _socket.ReceiveAsync(reader.ReceiveBuffer, SocketFlags.None, cancellationToken);
            }
            catch (SocketException e)
            {
                throw Translate(e, "read from");
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A TUN write hands the packet to the kernel's stack at once, so the packet is written with a direct
    /// <c>write(2)</c> — with offloads <c>writev(2)</c> of an all-zero virtio header and the packet (exact errno, no
    /// allocation, no copy); only when the kernel answers EAGAIN does the write wait for writability through the socket
    /// engine.
    /// </remarks>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        int error = TryWrite(packet.Span, default);
        if (error == 0)
        {
            return default;
        }

        if (error != LinuxErrors.EAGAIN)
        {
            return ValueTask.FromException(LinuxErrors.PacketIoFailed("write to", Name, error, LinuxErrors.Text(error), null));
        }

        if (_offload is not null)
        {
            return WriteWithHeaderAsync(packet, default, cancellationToken);
        }

        ValueTask<int> pending;
        try
        {
            pending = _socket.SendAsync(packet, SocketFlags.None, cancellationToken);
        }
        catch (SocketException e)
        {
            throw Translate(e, "write to");
        }

        return AwaitWriteAsync(pending);
    }

    /// <summary>
    /// The rare EAGAIN path with offloads: the socket engine writes one buffer, so header and packet are copied into
    /// a pooled one.
    /// </summary>
    private async ValueTask WriteWithHeaderAsync(ReadOnlyMemory<byte> packet, VirtioNetHeader header, CancellationToken cancellationToken)
    {
        byte[] framed = ArrayPool<byte>.Shared.Rent(VirtioNetHeader.Size + packet.Length);
        try
        {
            header.Write(framed);
            packet.Span.CopyTo(framed.AsSpan(VirtioNetHeader.Size));
            ValueTask<int> pending;
            try
            {
                pending = _socket.SendAsync(framed.AsMemory(0, VirtioNetHeader.Size + packet.Length), SocketFlags.None, cancellationToken);
            }
            catch (SocketException e)
            {
                throw Translate(e, "write to");
            }

            await AwaitWriteAsync(pending).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(framed);
        }
    }

    /// <summary>
    /// Writes a TCP super-packet (one IP header, one TCP header, up to 64 KiB of payload) for the kernel to cut into
    /// segments of <paramref name="segmentSize"/> payload bytes: one <c>writev(2)</c> with a GSO virtio header instead
    /// of a write per segment. The TCP checksum field must hold the pseudo-header sum, as in a super-packet read from a
    /// TUN. Without offloads the device cuts the super-packet itself and writes the segments one by one.
    /// </summary>
    /// <remarks>
    /// The groundwork for carrying super-packets whole through the tunnel (issue 6): nothing calls it yet outside the
    /// tests; it becomes part of <see cref="ITunDevice"/> when the protocol can carry super-packets.
    /// </remarks>
    /// <returns>False (nothing written, counted in <see cref="SuperPacketsRefused"/>) when the headers do not describe a
    /// TCP super-packet that can be segmented.</returns>
    internal ValueTask<bool> WriteSuperPacketAsync(ReadOnlyMemory<byte> packet, int segmentSize, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        OffloadDropReason reason = TcpSegmenter.TryPlanWrite(packet.Span, segmentSize, out VirtioNetHeader header, out GsoPlan plan);
        if (reason != OffloadDropReason.None)
        {
            Interlocked.Increment(ref _superPacketsRefused);
            return new ValueTask<bool>(false);
        }

        if (_offload is null)
        {
            return WriteSegmentsAsync(packet, plan, cancellationToken);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        int error = TryWrite(packet.Span, header);
        if (error == 0)
        {
            return new ValueTask<bool>(true);
        }

        if (error != LinuxErrors.EAGAIN)
        {
            return ValueTask.FromException<bool>(LinuxErrors.PacketIoFailed("write to", Name, error, LinuxErrors.Text(error), null));
        }

        return AwaitSuperPacketWriteAsync(WriteWithHeaderAsync(packet, header, cancellationToken));

        static async ValueTask<bool> AwaitSuperPacketWriteAsync(ValueTask write)
        {
            await write.ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>Super-packets <see cref="WriteSuperPacketAsync"/> refused as malformed.</summary>
    internal long SuperPacketsRefused => Interlocked.Read(ref _superPacketsRefused);

    /// <summary>
    /// The fallback of <see cref="WriteSuperPacketAsync"/> without offloads (and of <see cref="TunPacketWriter"/> when the
    /// kernel refused a super-packet): segment here, write each.
    /// </summary>
    internal async ValueTask<bool> WriteSegmentsAsync(ReadOnlyMemory<byte> packet, GsoPlan plan, CancellationToken cancellationToken)
    {
        byte[] segment = ArrayPool<byte>.Shared.Rent(plan.HeaderLength + plan.SegmentSize);
        try
        {
            for (int i = 0; i < plan.SegmentCount; i++)
            {
                int length = TcpSegmenter.WriteSegment(packet.Span, plan, i, segment);
                await WriteAsync(segment.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(segment);
        }
    }

    /// <summary>
    /// Writes one packet with <c>write(2)</c>, or with offloads <c>writev(2)</c> behind <paramref name="header"/>
    /// (all zero for a plain packet); returns 0 or the errno.
    /// </summary>
    private unsafe int TryWrite(ReadOnlySpan<byte> packet, VirtioNetHeader header)
    {
        bool addedRef = false;
        try
        {
            _handle.DangerousAddRef(ref addedRef);
            int fd = (int)_handle.DangerousGetHandle();
            long written;
            long expected = packet.Length;
            fixed (byte* p = packet)
            {
                if (_offload is null)
                {
                    do
                    {
                        written = write(fd, p, packet.Length);
                    }
                    while (written < 0 && errno == LinuxErrors.EINTR);
                }
                else
                {
                    // A plain packet: gso_type NONE, no flags (its checksums are already right).
                    Interop.Io.IoVec* vectors = stackalloc Interop.Io.IoVec[2];
                    vectors[0] = new Interop.Io.IoVec { Base = &header, Length = VirtioNetHeader.Size };
                    vectors[1] = new Interop.Io.IoVec { Base = p, Length = (nuint)packet.Length };
                    expected += VirtioNetHeader.Size;
                    int error;
                    do
                    {
                        written = Interop.Io.writev(fd, vectors, 2);
                        error = written < 0 ? Marshal.GetLastPInvokeError() : 0;
                    }
                    while (error == LinuxErrors.EINTR);

                    if (written < 0)
                    {
                        return error;
                    }
                }
            }

            if (written < 0)
            {
                return errno;
            }

            // A TUN write takes the whole packet or fails; a short count would mean a kernel bug.
            return written == expected ? 0 : LinuxErrors.EIO;
        }
        finally
        {
            if (addedRef)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Closing the fd makes the kernel delete the (non-persistent) interface with its addresses and routes.
            _socket.Dispose();
            if (_offload is { } offload)
            {
                TunLog.OffloadSummary(_logger, Name, offload.Packets, offload.SuperPackets, offload.Segments, offload.LargestSuperPacket, offload.ChecksumsCompleted, offload.Dropped);
            }

            TunLog.TunClosed(_logger, Name);
        }

        return default;
    }

    /// <summary>Awaits a read that did not complete at once; the pooling builder keeps this allocation-free.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitReadAsync(ValueTask<int> pending)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw Translate(e, "read from");
        }
    }

    /// <summary>Awaits a write that did not complete at once; the pooling builder keeps this allocation-free.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitWriteAsync(ValueTask<int> pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw Translate(e, "write to");
        }
    }

    /// <summary>
    /// Maps a <see cref="SocketException"/> from the runtime to <see cref="ObjectDisposedException"/> (the device was
    /// closed under the operation) or to a <see cref="TunException"/> with the errno and a hint.
    /// </summary>
    private Exception Translate(SocketException e, string direction)
    {
        if (Volatile.Read(ref _disposed) != 0 || e.SocketErrorCode == SocketError.OperationAborted)
        {
            return new ObjectDisposedException(GetType().FullName, e);
        }

        return LinuxErrors.PacketIoFailed(direction, Name, ToErrno(e), e.Message, e);
    }

    /// <summary>
    /// Recovers the errno from a SocketException raised for a TUN read or write, where the runtime kept one; errno
    /// values without a socket meaning (such as EIO) reach us only as SocketError.SocketError, reported as 0.
    /// </summary>
    private static int ToErrno(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.InvalidArgument => LinuxErrors.EINVAL,
        SocketError.NoBufferSpaceAvailable => LinuxErrors.ENOBUFS,
        SocketError.NetworkDown => LinuxErrors.ENETDOWN,
        SocketError.MessageSize => LinuxErrors.EMSGSIZE,
        SocketError.AccessDenied => LinuxErrors.EACCES,
        SocketError.Fault => LinuxErrors.EFAULT,
        _ => 0,
    };

    /// <summary>Applies the MTU and reads the interface index through a throw-away AF_INET control socket.</summary>
    private static unsafe int ConfigureLink(string name, int mtu)
    {
        int control = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (control < 0)
        {
            throw LinuxErrors.TunCreateFailed(name, "socket(AF_INET)", errno, Environment.ProcessPath);
        }

        try
        {
            Interop.ifreq request = default;
            WriteName(ref request, name);
            request.ifr_mtu = mtu;
            if (ioctl(control, SIOCSIFMTU, &request) < 0)
            {
                throw LinuxErrors.TunCreateFailed(name, $"ioctl(SIOCSIFMTU, {mtu})", errno, Environment.ProcessPath);
            }

            request = default;
            WriteName(ref request, name);
            if (ioctl(control, SIOCGIFINDEX, &request) < 0)
            {
                throw LinuxErrors.TunCreateFailed(name, "ioctl(SIOCGIFINDEX)", errno, Environment.ProcessPath);
            }

            return request.ifr_ifindex;
        }
        finally
        {
            close(control);
        }
    }

    private static unsafe void WriteName(ref Interop.ifreq request, string name)
    {
        fixed (byte* p = request.ifr_name)
        {
            var span = new Span<byte>(p, IFNAMSIZ);
            span.Clear();
            // Validate() guarantees at most IFNAMSIZ - 1 bytes, so the name stays NUL-terminated.
            Encoding.UTF8.GetBytes(name, span[..(IFNAMSIZ - 1)]);
        }
    }

    private static unsafe string ReadName(ref Interop.ifreq request)
    {
        fixed (byte* p = request.ifr_name)
        {
            var span = new ReadOnlySpan<byte>(p, IFNAMSIZ);
            int end = span.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
        }
    }
}
