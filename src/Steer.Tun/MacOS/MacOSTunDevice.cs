using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Steer.Tun.MacOS.Interop.IoctlRequests;
using static Steer.Tun.MacOS.Interop.SocketConstants;

namespace Steer.Tun.MacOS;

/// <summary>
/// A macOS utun device: a PF_SYSTEM kernel-control socket connected to <c>com.apple.net.utun_control</c>. Each
/// packet on it carries a 4-byte address-family header, handled in headroom by <see cref="UtunPacketIO"/>; closing
/// the socket destroys the interface with its addresses and routes.
/// </summary>
[SupportedOSPlatform("macos")]
internal sealed class MacOSTunDevice : ITunDevice
{
    private readonly UtunPacketIO _io;
    private readonly ILogger _logger;
    private int _disposed;

    private MacOSTunDevice(UtunPacketIO io, string name, int interfaceIndex, int mtu, ILogger logger)
    {
        _io = io;
        Name = name;
        InterfaceIndex = interfaceIndex;
        Mtu = mtu;
        _logger = logger;
    }

    /// <summary>True on macOS.</summary>
    public static bool IsSupported => OperatingSystem.IsMacOS();

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int InterfaceIndex { get; }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    /// <remarks>Always false: utun has no offloads here.</remarks>
    public bool OffloadEnabled => false;

    /// <summary>
    /// Creates a utun interface: socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL), CTLIOCGINFO for the utun control,
    /// connect with the unit (utunN is unit N + 1, 0 is the next free one), UTUN_OPT_IFNAME for the name, then the MTU.
    /// </summary>
    /// <param name="options">Name (<c>utunN</c> or <c>utun%d</c>; any other name gets the next free unit) and MTU.</param>
    /// <param name="logger">Lifecycle messages.</param>
    public static unsafe MacOSTunDevice Create(TunDeviceOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        logger ??= NullLogger.Instance;
        string requested = options.Name;
        uint unit = UtunNames.UnitFor(requested, out bool honoured);
        if (!honoured)
        {
            MacOSLog.UtunNameNotHonoured(logger, requested);
        }

        int fd = Interop.Libc.socket(AF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL);
        if (fd < 0)
        {
            throw MacOSErrors.TunCreateFailed(requested, "socket(PF_SYSTEM, SYSPROTO_CONTROL)", Marshal.GetLastPInvokeError());
        }

        SafeSocketHandle? handle = null;
        try
        {
            // socket(2) on macOS has no SOCK_CLOEXEC; keep the descriptor out of child processes.
            Interop.Libc.Ioctl(fd, FIOCLEX, null);

            Interop.ctl_info info = default;
            Interop.UtunConstants.ControlName.CopyTo(new Span<byte>(info.ctl_name, Interop.UtunConstants.MAX_KCTL_NAME));
            if (Interop.Libc.Ioctl(fd, CTLIOCGINFO, &info) < 0)
            {
                throw MacOSErrors.TunCreateFailed(requested, "ioctl(CTLIOCGINFO)", Marshal.GetLastPInvokeError());
            }

            var address = new Interop.sockaddr_ctl
            {
                sc_len = (byte)sizeof(Interop.sockaddr_ctl),
                sc_family = AF_SYSTEM,
                ss_sysaddr = AF_SYS_CONTROL,
                sc_id = info.ctl_id,
                sc_unit = unit,
            };
            if (Interop.Libc.connect(fd, &address, (uint)sizeof(Interop.sockaddr_ctl)) < 0)
            {
                throw MacOSErrors.TunCreateFailed(requested, $"connect(utun_control, unit {unit})", Marshal.GetLastPInvokeError());
            }

            byte* nameBuffer = stackalloc byte[IFNAMSIZ];
            uint nameLength = IFNAMSIZ;
            if (Interop.Libc.getsockopt(fd, SYSPROTO_CONTROL, Interop.UtunConstants.UTUN_OPT_IFNAME, nameBuffer, &nameLength) < 0)
            {
                throw MacOSErrors.TunCreateFailed(requested, "getsockopt(UTUN_OPT_IFNAME)", Marshal.GetLastPInvokeError());
            }

            string name = MacOSInterfaceControl.ReadName(new ReadOnlySpan<byte>(nameBuffer, (int)Math.Min(nameLength, IFNAMSIZ)));
            int index = MacOSInterfaceControl.IndexOf(name);
            if (index == 0)
            {
                throw MacOSErrors.TunCreateFailed(name, "if_nametoindex", Marshal.GetLastPInvokeError());
            }

            int error = MacOSInterfaceControl.TrySetMtu(name, options.Mtu);
            if (error != 0)
            {
                throw MacOSErrors.TunCreateFailed(name, $"ioctl(SIOCSIFMTU, {options.Mtu})", error);
            }

            handle = new SafeSocketHandle(fd, ownsHandle: true);
            fd = -1; // The handle owns the descriptor from here on.
            var device = new MacOSTunDevice(new UtunPacketIO(handle, name), name, index, options.Mtu, logger);
            TunLog.TunCreated(logger, name, index, options.Mtu);
            return device;
        }
        catch
        {
            handle?.Dispose();
            if (fd >= 0)
            {
                Interop.Libc.close(fd);
            }

            throw;
        }
    }

    /// <inheritdoc/>
    /// <remarks>The 4-byte family header is stripped; a packet longer than <paramref name="buffer"/> is truncated.</remarks>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => _io.ReadAsync(buffer, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>The 4-byte family header is chosen from the packet's IP version and placed in front of it.</remarks>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
        => _io.WriteAsync(packet, cancellationToken);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _io.Dispose();
            TunLog.TunClosed(_logger, Name);
        }

        return default;
    }
}
