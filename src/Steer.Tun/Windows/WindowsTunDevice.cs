using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using static Steer.Tun.Windows.Interop.Errors;

namespace Steer.Tun.Windows;

/// <summary>
/// A Windows TUN device over Wintun: an adapter created with a fixed GUID (<see cref="WintunAdapterSettings"/>) and a
/// session with 4 MiB rings. Reads take packets from the receive ring and wait on the session's read event through a
/// registered wait when it is empty (no spinning, no thread per device); writes allocate a slot in the send ring, copy
/// the packet in and send it. Disposing ends the session and removes the adapter with its addresses and routes.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class WindowsTunDevice : ITunDevice
{
    private readonly SafeWintunAdapterHandle _adapter;
    private readonly SafeWintunSessionHandle _session;
    private readonly ReadWaitHandle _readEvent;
    private readonly CancellationTokenSource _closing = new();
    private readonly ILogger _logger;
    private long _droppedPackets;
    private int _disposed;

    private WindowsTunDevice(SafeWintunAdapterHandle adapter, SafeWintunSessionHandle session, nint readEvent, string name, int interfaceIndex, int mtu, ILogger logger)
    {
        _adapter = adapter;
        _session = session;
        _readEvent = new ReadWaitHandle(readEvent);
        Name = name;
        InterfaceIndex = interfaceIndex;
        Mtu = mtu;
        _logger = logger;
    }

    /// <summary>True on Windows (wintun.dll is checked when the device is created).</summary>
    public static bool IsSupported => OperatingSystem.IsWindows();

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int InterfaceIndex { get; }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <inheritdoc/>
    /// <remarks>Always false: Wintun has no offloads here.</remarks>
    public bool OffloadEnabled => false;

    /// <summary>Packets dropped because the send ring was full (Wintun's ERROR_BUFFER_OVERFLOW), as a NIC drops them.</summary>
    internal long DroppedPackets => Interlocked.Read(ref _droppedPackets);

    /// <summary>Loads wintun.dll, creates the adapter, sets its MTU and starts a session.</summary>
    /// <param name="options">Name (a name with <c>%d</c> becomes <c>Steer</c>) and MTU.</param>
    /// <param name="logger">Lifecycle messages.</param>
    /// <exception cref="TunException">wintun.dll is missing (the message says where to get it), or Windows refused.</exception>
    public static unsafe WindowsTunDevice Create(TunDeviceOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        logger ??= NullLogger.Instance;
        WintunLibrary.EnsureLoaded();

        string name = WintunAdapterSettings.AdapterName(options.Name);
        if (!string.Equals(name, options.Name, StringComparison.Ordinal))
        {
            WindowsLog.AdapterNameChosen(logger, options.Name, name);
        }

        Guid guid = WintunAdapterSettings.GuidFor(name);
        SafeWintunAdapterHandle adapter = Interop.Wintun.WintunCreateAdapter(name, WintunAdapterSettings.TunnelType, &guid);
        if (adapter.IsInvalid)
        {
            int error = Marshal.GetLastPInvokeError();
            adapter.Dispose();
            throw WindowsErrors.TunCreateFailed(name, "WintunCreateAdapter", error);
        }

        SafeWintunSessionHandle? session = null;
        try
        {
            Interop.NET_LUID luid;
            Interop.Wintun.WintunGetAdapterLUID(adapter, &luid);
            uint index;
            int error = Interop.IpHelper.ConvertInterfaceLuidToIndex(&luid, &index);
            if (error != 0)
            {
                throw WindowsErrors.TunCreateFailed(name, "ConvertInterfaceLuidToIndex", error);
            }

            error = WindowsInterfaceControl.TrySetMtu((int)index, options.Mtu);
            if (error != 0)
            {
                throw WindowsErrors.TunCreateFailed(name, $"SetIpInterfaceEntry(NlMtu {options.Mtu})", error);
            }

            session = Interop.Wintun.WintunStartSession(adapter, WintunAdapterSettings.RingCapacity);
            if (session.IsInvalid)
            {
                throw WindowsErrors.TunCreateFailed(name, "WintunStartSession", Marshal.GetLastPInvokeError());
            }

            session.HoldAdapter(adapter);
            nint readEvent = Interop.Wintun.WintunGetReadWaitEvent(session);
            var device = new WindowsTunDevice(adapter, session, readEvent, name, (int)index, options.Mtu, logger);
            TunLog.TunCreated(logger, name, (int)index, options.Mtu);
            return device;
        }
        catch
        {
            session?.Dispose();
            adapter.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A packet already in the ring is copied out at once with no allocation; an empty ring is waited for with a
    /// registered wait on the session's read event. A packet longer than <paramref name="buffer"/> is truncated.
    /// </remarks>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        int length = TryReceive(buffer.Span, out int error);
        if (length >= 0)
        {
            return new ValueTask<int>(length);
        }

        return error == ERROR_NO_MORE_ITEMS
            ? ReadWhenSignalledAsync(buffer, cancellationToken)
            : ValueTask.FromException<int>(ReceiveFailed(error));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The packet is copied into a slot of the send ring. When the ring is full the packet is dropped, as a network
    /// card drops it (see <see cref="DroppedPackets"/>); the write does not wait.
    /// </remarks>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (packet.IsEmpty || packet.Length > Interop.Wintun.MaxIpPacketSize)
        {
            return ValueTask.FromException(new TunException(
                $"Cannot write to Wintun adapter '{Name}': a packet must be 1 to {Interop.Wintun.MaxIpPacketSize} bytes long, not {packet.Length}.")
            {
                ErrorCode = ERROR_INVALID_PARAMETER,
            });
        }

        int error = TrySend(packet.Span);
        if (error == 0)
        {
            return default;
        }

        if (error == ERROR_BUFFER_OVERFLOW)
        {
            Interlocked.Increment(ref _droppedPackets);
            return default;
        }

        return ValueTask.FromException(SendFailed(error));
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Wake pending reads first; they release their session reference, then the session ends, then the adapter
            // (held by the session) is closed and removed.
            _closing.Cancel();
            _session.Dispose();
            _adapter.Dispose();
            _readEvent.Dispose();
            TunLog.TunClosed(_logger, Name);
        }

        return default;
    }

    private async ValueTask<int> ReadWhenSignalledAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await WaitForPacketsAsync(cancellationToken).ConfigureAwait(false);
            int length = TryReceive(buffer.Span, out int error);
            if (length >= 0)
            {
                return length;
            }

            if (error != ERROR_NO_MORE_ITEMS)
            {
                throw ReceiveFailed(error);
            }
        }
    }

    /// <summary>Waits until the read event is signalled, the caller cancels, or the device is disposed.</summary>
    private async Task WaitForPacketsAsync(CancellationToken cancellationToken)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool addedRef = false;
        RegisteredWaitHandle? registration = null;
        try
        {
            // The event belongs to the session: keep the session alive while the wait uses it.
            _session.DangerousAddRef(ref addedRef);
            registration = ThreadPool.RegisterWaitForSingleObject(
                _readEvent,
                static (state, _) => ((TaskCompletionSource)state!).TrySetResult(),
                signal,
                Timeout.Infinite,
                executeOnlyOnce: true);
            using (cancellationToken.UnsafeRegister(static (state, token) => ((TaskCompletionSource)state!).TrySetCanceled(token), signal))
            using (_closing.Token.UnsafeRegister(static state => ((TaskCompletionSource)state!).TrySetException(new ObjectDisposedException(nameof(WindowsTunDevice))), signal))
            {
                await signal.Task.ConfigureAwait(false);
            }
        }
        finally
        {
            registration?.Unregister(null);
            if (addedRef)
            {
                _session.DangerousRelease();
            }
        }
    }

    /// <summary>Takes one packet from the receive ring; returns its length, or -1 with the Win32 error.</summary>
    private unsafe int TryReceive(Span<byte> destination, out int error)
    {
        bool addedRef = false;
        try
        {
            _session.DangerousAddRef(ref addedRef);
            nint session = _session.DangerousGetHandle();
            uint size;
            byte* packet = Interop.Wintun.WintunReceivePacket(session, &size);
            if (packet is null)
            {
                error = Marshal.GetLastPInvokeError();
                return -1;
            }

            int length = (int)Math.Min(size, (uint)destination.Length);
            new ReadOnlySpan<byte>(packet, length).CopyTo(destination);
            Interop.Wintun.WintunReleaseReceivePacket(session, packet);
            error = 0;
            return length;
        }
        finally
        {
            if (addedRef)
            {
                _session.DangerousRelease();
            }
        }
    }

    /// <summary>Copies one packet into the send ring and sends it; returns 0 or the Win32 error.</summary>
    private unsafe int TrySend(ReadOnlySpan<byte> packet)
    {
        bool addedRef = false;
        try
        {
            _session.DangerousAddRef(ref addedRef);
            nint session = _session.DangerousGetHandle();
            byte* slot = Interop.Wintun.WintunAllocateSendPacket(session, (uint)packet.Length);
            if (slot is null)
            {
                return Marshal.GetLastPInvokeError();
            }

            packet.CopyTo(new Span<byte>(slot, packet.Length));
            Interop.Wintun.WintunSendPacket(session, slot);
            return 0;
        }
        finally
        {
            if (addedRef)
            {
                _session.DangerousRelease();
            }
        }
    }

    private Exception ReceiveFailed(int error) => error switch
    {
        ERROR_HANDLE_EOF when Volatile.Read(ref _disposed) != 0 => new ObjectDisposedException(GetType().FullName),
        ERROR_HANDLE_EOF => new TunException($"Cannot read from Wintun adapter '{Name}': the adapter is terminating (was it removed?).") { ErrorCode = error },
        ERROR_INVALID_DATA => new TunException($"Cannot read from Wintun adapter '{Name}': the receive ring is corrupt.") { ErrorCode = error },
        _ => WindowsErrors.OperationFailed($"read from Wintun adapter '{Name}'", error),
    };

    private Exception SendFailed(int error) => error switch
    {
        ERROR_HANDLE_EOF when Volatile.Read(ref _disposed) != 0 => new ObjectDisposedException(GetType().FullName),
        ERROR_HANDLE_EOF => new TunException($"Cannot write to Wintun adapter '{Name}': the adapter is terminating (was it removed?).") { ErrorCode = error },
        _ => WindowsErrors.OperationFailed($"write to Wintun adapter '{Name}'", error),
    };

    /// <summary>Wraps the session's read event (owned by the session, so never closed here) for registered waits.</summary>
    private sealed class ReadWaitHandle : WaitHandle
    {
        public ReadWaitHandle(nint handle)
        {
            SafeWaitHandle = new SafeWaitHandle(handle, ownsHandle: false);
        }
    }
}
