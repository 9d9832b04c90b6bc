using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Steer.Tun.Linux.Interop.IfReqConstants;
using static Tmds.Linux.LibC;

namespace Steer.Tun.Linux;

/// <summary>
/// A Linux TUN device: <c>/dev/net/tun</c> attached with TUNSETIFF (IFF_TUN | IFF_NO_PI). The non-blocking fd is
/// wrapped in a <see cref="Socket"/> so that reads and writes go through the runtime's epoll engine (the runtime uses
/// read/write for a handle that is not a socket): no thread per device and no allocation per packet.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LinuxTunDevice : ITunDevice
{
    private const string TunPath = "/dev/net/tun";

    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle;
    private readonly ILogger _logger;
    private int _disposed;

    private LinuxTunDevice(Socket socket, string name, int interfaceIndex, int mtu, ILogger logger)
    {
        _socket = socket;
        _handle = socket.SafeHandle;
        Name = name;
        InterfaceIndex = interfaceIndex;
        Mtu = mtu;
        _logger = logger;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int InterfaceIndex { get; }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <summary>Opens <c>/dev/net/tun</c>, creates the interface and sets its MTU.</summary>
    public static unsafe LinuxTunDevice Create(TunDeviceOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        logger ??= NullLogger.Instance;
        string requested = options.Name;

        int fd;
        fixed (byte* path = "/dev/net/tun\0"u8)
        {
            fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        }

        if (fd < 0)
        {
            throw LinuxErrors.TunCreateFailed(requested, "open " + TunPath, errno, Environment.ProcessPath);
        }

        SafeSocketHandle? handle = null;
        try
        {
            Interop.ifreq request = default;
            WriteName(ref request, requested);
            request.ifr_flags = IFF_TUN | IFF_NO_PI;
            if (ioctl(fd, TUNSETIFF, &request) < 0)
            {
                throw LinuxErrors.TunCreateFailed(requested, "ioctl(TUNSETIFF)", errno, Environment.ProcessPath);
            }

            string name = ReadName(ref request);
            int index = ConfigureLink(name, options.Mtu);

            handle = new SafeSocketHandle(fd, ownsHandle: true);
            fd = -1; // The handle owns the descriptor from here on.
            var socket = new Socket(handle);
            var device = new LinuxTunDevice(socket, name, index, options.Mtu, logger);
            TunLog.TunCreated(logger, name, index, options.Mtu);
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

    /// <inheritdoc/>
    /// <remarks>
    /// A packet longer than <paramref name="buffer"/> is truncated by the kernel, so pass at least <see cref="Mtu"/>
    /// bytes. The read waits on the runtime's epoll engine; a completed read allocates nothing, and a read that has to
    /// wait uses a pooled state machine.
    /// </remarks>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
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

    /// <inheritdoc/>
    /// <remarks>
    /// A TUN write hands the packet to the kernel's stack at once, so the packet is written with a direct
    /// <c>write(2)</c> (exact errno, no allocation); only when the kernel answers EAGAIN does the write wait for
    /// writability through the socket engine.
    /// </remarks>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        int error = TryWrite(packet.Span);
        if (error == 0)
        {
            return default;
        }

        if (error != LinuxErrors.EAGAIN)
        {
            return ValueTask.FromException(LinuxErrors.PacketIoFailed("write to", Name, error, LinuxErrors.Text(error), null));
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

    /// <summary>Writes one packet with <c>write(2)</c>; returns 0 or the errno.</summary>
    private unsafe int TryWrite(ReadOnlySpan<byte> packet)
    {
        bool addedRef = false;
        try
        {
            _handle.DangerousAddRef(ref addedRef);
            int fd = (int)_handle.DangerousGetHandle();
            long written;
            fixed (byte* p = packet)
            {
                do
                {
                    written = write(fd, p, packet.Length);
                }
                while (written < 0 && errno == LinuxErrors.EINTR);
            }

            if (written < 0)
            {
                return errno;
            }

            // A TUN write takes the whole packet or fails; a short count would mean a kernel bug.
            return written == packet.Length ? 0 : LinuxErrors.EIO;
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
