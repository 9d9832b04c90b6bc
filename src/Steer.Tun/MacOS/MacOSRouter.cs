using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Steer.Tun.MacOS.Interop.IoctlRequests;
using static Steer.Tun.MacOS.Interop.RouteConstants;
using static Steer.Tun.MacOS.Interop.SocketConstants;

namespace Steer.Tun.MacOS;

/// <summary>
/// <see cref="IRouter"/> for macOS: interface settings and addresses through ioctls, routes through a PF_ROUTE socket
/// (RTM_ADD / RTM_DELETE / RTM_GET encoded by <see cref="RouteSocketMessages"/>). A default route is covered by its two
/// halves (<see cref="DefaultRouteSplit"/>) rather than replacing the host's. Every change is journalled and undone in
/// reverse order on <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// macOS has a single routing table and no route metrics: <see cref="RouteEntry.Table"/> must be
/// <see cref="RouteEntry.MainTable"/>, and <see cref="RouteEntry.Metric"/> is ignored. A route that already exists
/// (EEXIST) is left alone and not journalled, so the host's own routes survive Dispose.
/// </remarks>
[SupportedOSPlatform("macos")]
internal sealed class MacOSRouter : IRouter
{
    private const int ReceiveBufferSize = 2048;
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly SafeMacOSDescriptorHandle _socket;
    private readonly List<Change> _journal = [];
    private readonly ILogger _logger;
    private int _sequence;
    private bool _disposed;

    /// <summary>Opens the write-only routing socket.</summary>
    /// <exception cref="TunException">The socket could not be opened.</exception>
    public MacOSRouter(ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
        _socket = OpenRoutingSocket("open the routing socket");
        // The kernel copies every routing message to every routing socket; changes need no answer (write(2) returns
        // the error), so this socket never reads and must not fill up with other processes' messages.
        Interop.Libc.shutdown(_socket.Fd, SHUT_RD);
        _sequence = Random.Shared.Next();
    }

    /// <summary>True on macOS.</summary>
    public static bool IsSupported => OperatingSystem.IsMacOS();

    /// <inheritdoc/>
    public void SetInterfaceUp(int interfaceIndex, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interfaceIndex);
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, TunDeviceOptions.MinMtu);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mtu, TunDeviceOptions.MaxMtu);
        string what = $"set link #{interfaceIndex} up with mtu {mtu}";
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            string name = MacOSInterfaceControl.NameOf(interfaceIndex, what);
            ThrowIfError(MacOSInterfaceControl.TryGetLink(name, out short flags, out int oldMtu), what);
            ThrowIfError(MacOSInterfaceControl.TrySetMtu(name, mtu), what);
            bool wasUp = (flags & IFF_UP) != 0;
            if (!wasUp)
            {
                ThrowIfError(MacOSInterfaceControl.TrySetFlags(name, (short)(flags | IFF_UP)), what);
            }

            _journal.Add(new Change(ChangeKind.Link, interfaceIndex, name, wasUp, oldMtu, default, null));
            TunLog.RouterChanged(_logger, what);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// utun is point-to-point, so the kernel adds only a host route for the address; the on-link prefix route
    /// (for example 100.64.0.0/24 through the utun) is added here too, and journalled with the address.
    /// </remarks>
    public void AddAddress(int interfaceIndex, InterfaceAddress address)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interfaceIndex);
        ValidateAddress(address);
        string what = $"add address {address} dev #{interfaceIndex}";
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            string name = MacOSInterfaceControl.NameOf(interfaceIndex, what);
            ThrowIfError(MacOSInterfaceControl.TryAddAddress(name, address), what);
            _journal.Add(new Change(ChangeKind.Address, interfaceIndex, name, false, 0, address, null));
            TunLog.RouterChanged(_logger, what);

            int hostPrefix = address.Address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            if (address.PrefixLength < hostPrefix)
            {
                AddRoutePart(new RouteEntry(address.Network, interfaceIndex));
            }
        }
    }

    /// <inheritdoc/>
    public void AddRoute(RouteEntry route)
    {
        ValidateRoute(route);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (route.Metric != 0)
            {
                MacOSLog.MetricIgnored(_logger, route.Metric, route.ToString());
            }

            foreach (IPNetwork part in DefaultRouteSplit.Split(route.Destination))
            {
                AddRoutePart(route with { Destination = part });
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Removing a route this router added also drops it from the journal; removing a route it did not add is
    /// journalled in turn, and Dispose adds it back.
    /// </remarks>
    public void RemoveRoute(RouteEntry route)
    {
        ValidateRoute(route);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (IPNetwork part in DefaultRouteSplit.Split(route.Destination))
            {
                RouteEntry entry = route with { Destination = part };
                string what = "remove route " + entry;
                int error = SendChange(RTM_DELETE, entry);
                bool wasPresent = error == 0;
                if (error != 0 && !IsAlreadyGone(error))
                {
                    throw MacOSErrors.OperationFailed(what, error);
                }

                int added = _journal.FindLastIndex(c => c.Kind == ChangeKind.AddedRoute && c.Route == entry);
                if (added >= 0)
                {
                    _journal.RemoveAt(added);
                }
                else if (wasPresent)
                {
                    _journal.Add(new Change(ChangeKind.RemovedRoute, entry.InterfaceIndex, null, false, 0, default, entry));
                }

                TunLog.RouterChanged(_logger, wasPresent ? what : what + " (already gone)");
            }
        }
    }

    /// <inheritdoc/>
    public unsafe RouteEntry? Lookup(IPAddress destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"{destination} is not an IPv4 or IPv6 address.", nameof(destination));
        }

        string what = "look up the route to " + destination;
        int sequence;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            sequence = NextSequence();
        }

        // A socket of its own, opened just for this answer: the change socket does not read.
        using SafeMacOSDescriptorHandle socket = OpenRoutingSocket(what);
        int fd = socket.Fd;
        var timeout = new Interop.timeval { tv_sec = (long)s_answerTimeout.TotalSeconds };
        if (Interop.Libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, (uint)sizeof(Interop.timeval)) < 0)
        {
            throw MacOSErrors.OperationFailed(what + " (SO_RCVTIMEO)", Marshal.GetLastPInvokeError());
        }

        Span<byte> request = stackalloc byte[RouteSocketMessages.MaxRequestLength];
        int length = RouteSocketMessages.EncodeGet(request, sequence, destination);
        int error = Write(fd, request[..length]);
        if (error is MacOSErrors.ESRCH or MacOSErrors.ENETUNREACH or MacOSErrors.EHOSTUNREACH)
        {
            return null;
        }

        ThrowIfError(error, what);
        byte[] answer = new byte[ReceiveBufferSize];
        int processId = Environment.ProcessId;
        while (true)
        {
            nint received;
            fixed (byte* p = answer)
            {
                received = Interop.Libc.read(fd, p, answer.Length);
            }

            if (received < 0)
            {
                int readError = Marshal.GetLastPInvokeError();
                if (readError == MacOSErrors.EINTR)
                {
                    continue;
                }

                if (readError == MacOSErrors.EAGAIN)
                {
                    throw new TunException(
                        $"Cannot {what}: the kernel did not answer within {s_answerTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.")
                    {
                        ErrorCode = MacOSErrors.ETIMEDOUT,
                    };
                }

                throw MacOSErrors.OperationFailed(what, readError);
            }

            if (!RouteSocketMessages.TryParseGetReply(answer.AsSpan(0, (int)received), processId, sequence, out RouteReply reply))
            {
                continue; // another process's routing message
            }

            if (reply.Error is MacOSErrors.ESRCH or MacOSErrors.ENETUNREACH or MacOSErrors.EHOSTUNREACH
                || (reply.Flags & (RTF_REJECT | RTF_BLACKHOLE)) != 0 || reply.InterfaceIndex == 0)
            {
                return null;
            }

            ThrowIfError(reply.Error, what);
            int hostPrefix = destination.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            return new RouteEntry(new IPNetwork(destination, hostPrefix), reply.InterfaceIndex, reply.Gateway);
        }
    }

    /// <summary>Undoes every journalled change in reverse order, then closes the socket. Never throws.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            for (int i = _journal.Count - 1; i >= 0; i--)
            {
                Undo(_journal[i]);
            }

            _journal.Clear();
            _socket.Dispose();
        }
    }

    private void AddRoutePart(RouteEntry entry)
    {
        string what = "add route " + entry;
        int error = SendChange(RTM_ADD, entry);
        if (error == MacOSErrors.EEXIST)
        {
            MacOSLog.RouteAlreadyPresent(_logger, entry.ToString());
            return;
        }

        ThrowIfError(error, what);
        _journal.Add(new Change(ChangeKind.AddedRoute, entry.InterfaceIndex, null, false, 0, default, entry));
        TunLog.RouterChanged(_logger, what);
    }

    private void Undo(Change change)
    {
        string what = change.DescribeUndo();
        TunLog.RouterUndoing(_logger, what);
        int error = change.Kind switch
        {
            ChangeKind.Link => UndoLink(change),
            ChangeKind.Address => MacOSInterfaceControl.TryRemoveAddress(change.Name!, change.Address),
            ChangeKind.AddedRoute => SendChange(RTM_DELETE, change.Route!),
            _ => SendChange(RTM_ADD, change.Route!),
        };

        if (error == 0)
        {
            return;
        }

        if (IsAlreadyGone(error) || (change.Kind == ChangeKind.RemovedRoute && error == MacOSErrors.EEXIST))
        {
            TunLog.RouterUndoNotNeeded(_logger, what, MacOSErrors.Name(error));
            return;
        }

        TunLog.RouterUndoFailed(_logger, MacOSErrors.OperationFailed(what, error), what);
    }

    private static int UndoLink(Change change)
    {
        int error = MacOSInterfaceControl.TryGetLink(change.Name!, out short flags, out _);
        if (error != 0)
        {
            return error;
        }

        error = MacOSInterfaceControl.TrySetMtu(change.Name!, change.Mtu);
        if (error == 0 && !change.WasUp)
        {
            error = MacOSInterfaceControl.TrySetFlags(change.Name!, (short)(flags & ~IFF_UP));
        }

        return error;
    }

    /// <summary>Errors meaning the object to undo no longer exists (for example because its utun closed).</summary>
    private static bool IsAlreadyGone(int error)
        => error is MacOSErrors.ESRCH or MacOSErrors.ENXIO or MacOSErrors.ENODEV or MacOSErrors.EADDRNOTAVAIL or MacOSErrors.ENOENT;

    private int SendChange(byte type, RouteEntry route)
    {
        Span<byte> message = stackalloc byte[RouteSocketMessages.MaxRequestLength];
        int length = RouteSocketMessages.EncodeChange(message, type, NextSequence(), route.Destination, route.InterfaceIndex, route.Gateway);
        bool addedRef = false;
        try
        {
            _socket.DangerousAddRef(ref addedRef);
            return Write(_socket.Fd, message[..length]);
        }
        finally
        {
            if (addedRef)
            {
                _socket.DangerousRelease();
            }
        }
    }

    /// <summary>Writes one routing message; returns 0 or the errno (the kernel reports a failed change here).</summary>
    private static unsafe int Write(int fd, ReadOnlySpan<byte> message)
    {
        while (true)
        {
            nint written;
            fixed (byte* p = message)
            {
                written = Interop.Libc.write(fd, p, message.Length);
            }

            if (written >= 0)
            {
                return 0;
            }

            int error = Marshal.GetLastPInvokeError();
            if (error != MacOSErrors.EINTR)
            {
                return error;
            }
        }
    }

    private static SafeMacOSDescriptorHandle OpenRoutingSocket(string what)
    {
        int fd = Interop.Libc.socket(AF_ROUTE, SOCK_RAW, AF_UNSPEC);
        if (fd < 0)
        {
            throw MacOSErrors.OperationFailed(what, Marshal.GetLastPInvokeError());
        }

        var handle = new SafeMacOSDescriptorHandle(fd);
        unsafe
        {
            Interop.Libc.Ioctl(fd, FIOCLEX, null);
        }

        return handle;
    }

    private int NextSequence() => Interlocked.Increment(ref _sequence);

    private static void ThrowIfError(int error, string what)
    {
        if (error != 0)
        {
            throw MacOSErrors.OperationFailed(what, error);
        }
    }

    private static void ValidateAddress(InterfaceAddress address)
    {
        if (address.Address is null || address.Address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException("The address must be an IPv4 or IPv6 address.", nameof(address));
        }

        int max = address.Address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (address.PrefixLength < 0 || address.PrefixLength > max)
        {
            throw new ArgumentException($"Prefix length {address.PrefixLength} is out of range for {address.Address}.", nameof(address));
        }
    }

    private static void ValidateRoute(RouteEntry route)
    {
        ArgumentNullException.ThrowIfNull(route);
        if (route.InterfaceIndex is <= 0 or > ushort.MaxValue)
        {
            throw new ArgumentException($"Route {route} needs an interface index.", nameof(route));
        }

        if (route.Table != RouteEntry.MainTable)
        {
            throw new NotSupportedException($"Route {route}: macOS has a single routing table; only table {RouteEntry.MainTable} (main) is supported.");
        }

        if (route.Metric < 0)
        {
            throw new ArgumentException($"Route {route} has a negative metric.", nameof(route));
        }

        if (route.Gateway is not null && route.Gateway.AddressFamily != route.Destination.BaseAddress.AddressFamily)
        {
            throw new ArgumentException($"Route {route} mixes IPv4 and IPv6.", nameof(route));
        }
    }

    private enum ChangeKind
    {
        Link,
        Address,
        AddedRoute,
        RemovedRoute,
    }

    /// <summary>One journal entry: what was changed, with what is needed to change it back.</summary>
    private sealed record Change(ChangeKind Kind, int InterfaceIndex, string? Name, bool WasUp, int Mtu, InterfaceAddress Address, RouteEntry? Route)
    {
        public string DescribeUndo() => Kind switch
        {
            ChangeKind.Link => $"set link #{InterfaceIndex} {(WasUp ? "up" : "down")} with mtu {Mtu}",
            ChangeKind.Address => $"remove address {Address} dev #{InterfaceIndex}",
            ChangeKind.AddedRoute => "remove route " + Route,
            _ => "add route " + Route,
        };
    }
}
