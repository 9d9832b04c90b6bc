using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Tun.Journal;
using static Steer.Tun.MacOS.Interop.IoctlRequests;
using static Steer.Tun.MacOS.Interop.RouteConstants;
using static Steer.Tun.MacOS.Interop.SocketConstants;

namespace Steer.Tun.MacOS;

/// <summary>
/// <see cref="IRouter"/> for macOS: interface settings and addresses through ioctls, routes through a PF_ROUTE socket
/// (RTM_ADD / RTM_DELETE / RTM_GET encoded by <see cref="RouteSocketMessages"/>). A default route is covered by its two
/// halves (<see cref="DefaultRouteSplit"/>) rather than replacing the host's. Every change is journalled
/// (<see cref="ChangeJournal"/>) and undone in reverse order on <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// macOS has a single routing table and no route metrics: <see cref="RouteEntry.Table"/> must be
/// <see cref="RouteEntry.MainTable"/>, and <see cref="RouteEntry.Metric"/> is ignored. A route that already exists
/// (EEXIST) is left alone and not journalled, so the host's own routes survive Dispose. No policy rules, no route
/// types other than unicast (<see cref="SupportsPolicyRules"/> is false).
/// </remarks>
[SupportedOSPlatform("macos")]
internal sealed class MacOSRouter : IRouter, IChangeUndoer
{
    private const int ReceiveBufferSize = 2048;
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly SafeMacOSDescriptorHandle _socket;
    private readonly ChangeJournal _journal;
    private readonly ILogger _logger;
    private int _sequence;
    private bool _disposed;

    /// <summary>Opens the write-only routing socket, then the journal (undoing leftovers found in its file).</summary>
    /// <param name="logger">Receives one debug message per change.</param>
    /// <param name="journalPath">The on-disk journal, or <see langword="null"/> for one in memory only.</param>
    /// <exception cref="TunException">The socket or the journal could not be opened.</exception>
    public MacOSRouter(ILogger? logger, string? journalPath = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _socket = OpenRoutingSocket("open the routing socket");
        try
        {
            // The kernel copies every routing message to every routing socket; changes need no answer (write(2)
            // returns the error), so this socket never reads and must not fill up with other processes' messages.
            Interop.Libc.shutdown(_socket.Fd, SHUT_RD);
            _sequence = Random.Shared.Next();
            _journal = ChangeJournal.Open(journalPath, this, _logger);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    /// <summary>True on macOS.</summary>
    public static bool IsSupported => OperatingSystem.IsMacOS();

    /// <inheritdoc/>
    public bool SupportsPolicyRules => false;

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
            bool wasUp = (flags & IFF_UP) != 0;
            _journal.Record(RouterChange.ForLink(interfaceIndex, wasUp, oldMtu, name), () =>
            {
                ThrowIfError(MacOSInterfaceControl.TrySetMtu(name, mtu), what);
                if (!wasUp)
                {
                    ThrowIfError(MacOSInterfaceControl.TrySetFlags(name, (short)(flags | IFF_UP)), what);
                }

                return true;
            });
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
            _journal.Record(RouterChange.ForAddress(interfaceIndex, address, name), () =>
            {
                ThrowIfError(MacOSInterfaceControl.TryAddAddress(name, address), what);
                return true;
            });
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
                bool ours = _journal.Contains(c => c.Kind == RouterChangeKind.AddedRoute && c.Route == entry);
                bool wasPresent = false;
                if (ours)
                {
                    wasPresent = DeleteRoute(entry, what);
                    _journal.Forget(c => c.Kind == RouterChangeKind.AddedRoute && c.Route == entry);
                }
                else
                {
                    // Someone else's route: journalled first, so that Dispose (or a recovery) adds it back.
                    _journal.Record(RouterChange.ForRemovedRoute(entry), () => wasPresent = DeleteRoute(entry, what));
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

    /// <inheritdoc/>
    public void AddRule(RoutingRule rule) => throw PolicyRoutingNotSupported();

    /// <inheritdoc/>
    public void RemoveRule(RoutingRule rule) => throw PolicyRoutingNotSupported();

    /// <inheritdoc/>
    public void FlushTable(int table, AddressFamily family) => throw PolicyRoutingNotSupported();

    /// <summary>
    /// Undoes every journalled change in reverse order, then closes the socket; deletes the journal file when
    /// everything was undone. Never throws.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _journal.UndoAllAndClose(this);
            _socket.Dispose();
        }
    }

    /// <inheritdoc/>
    string? IChangeUndoer.Undo(RouterChange change)
    {
        string what = change.DescribeUndo();
        if ((change.Kind is RouterChangeKind.Link or RouterChangeKind.Address) && !IsSameInterface(change))
        {
            // utun names and indexes are reused: never touch another program's interface.
            return $"interface #{change.InterfaceIndex} ({change.InterfaceName}) is gone";
        }

        int error = change.Kind switch
        {
            RouterChangeKind.Link => UndoLink(change),
            RouterChangeKind.Address => MacOSInterfaceControl.TryRemoveAddress(change.InterfaceName!, change.Address.GetValueOrDefault()),
            RouterChangeKind.AddedRoute => SendChange(RTM_DELETE, change.Route!),
            RouterChangeKind.RemovedRoute => SendChange(RTM_ADD, change.Route!),
            _ => throw new NotSupportedException($"Cannot {what} on macOS: {change.Kind} changes are made by another operating system's router."),
        };

        if (error == 0)
        {
            return null;
        }

        if (IsAlreadyGone(error) || (change.Kind == RouterChangeKind.RemovedRoute && error == MacOSErrors.EEXIST))
        {
            return MacOSErrors.Name(error);
        }

        throw MacOSErrors.OperationFailed(what, error);
    }

    /// <summary>True when the change's interface index still has the name it had when the change was made.</summary>
    private static bool IsSameInterface(RouterChange change)
        => change.InterfaceName is { } name && MacOSInterfaceControl.IndexOf(name) == change.InterfaceIndex;

    private static PlatformNotSupportedException PolicyRoutingNotSupported()
        => new("Policy routing rules and routing tables are Linux-only: macOS has a single routing table (IRouter.SupportsPolicyRules is false).");

    /// <summary>Deletes a route; returns false when it was already gone.</summary>
    private bool DeleteRoute(RouteEntry entry, string what)
    {
        int error = SendChange(RTM_DELETE, entry);
        if (error != 0 && !IsAlreadyGone(error))
        {
            throw MacOSErrors.OperationFailed(what, error);
        }

        return error == 0;
    }

    private void AddRoutePart(RouteEntry entry)
    {
        string what = "add route " + entry;
        _journal.Record(RouterChange.ForAddedRoute(entry), () =>
        {
            int error = SendChange(RTM_ADD, entry);
            if (error == MacOSErrors.EEXIST)
            {
                MacOSLog.RouteAlreadyPresent(_logger, entry.ToString());
                return false;
            }

            ThrowIfError(error, what);
            TunLog.RouterChanged(_logger, what);
            return true;
        });
    }

    private static int UndoLink(RouterChange change)
    {
        int error = MacOSInterfaceControl.TryGetLink(change.InterfaceName!, out short flags, out _);
        if (error != 0)
        {
            return error;
        }

        error = MacOSInterfaceControl.TrySetMtu(change.InterfaceName!, change.Mtu);
        if (error == 0 && !change.WasUp)
        {
            error = MacOSInterfaceControl.TrySetFlags(change.InterfaceName!, (short)(flags & ~IFF_UP));
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

        if (route.Type != RouteType.Unicast)
        {
            throw new PlatformNotSupportedException($"Route {route}: {route.Type} routes are Linux-only; macOS routes here are unicast.");
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
}
