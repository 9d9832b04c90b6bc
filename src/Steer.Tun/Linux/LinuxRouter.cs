using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Tun.Linux.Netlink;
using static Tmds.Linux.LibC;

namespace Steer.Tun.Linux;

/// <summary>
/// <see cref="IRouter"/> over an rtnetlink (NETLINK_ROUTE) socket: every change is one request with NLM_F_ACK whose
/// NLMSG_ERROR answer is checked, and is journalled so that <see cref="Dispose"/> can undo it. Requests are
/// serialized by a lock; this is a configuration path, not a per-packet one.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LinuxRouter : IRouter
{
    private const int ReceiveBufferSize = 32 * 1024;
    private const int RequestBufferSize = 256;
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly SafeFileDescriptorHandle _socket;
    private readonly byte[] _receiveBuffer = new byte[ReceiveBufferSize];
    private readonly List<Change> _journal = [];
    private readonly ILogger _logger;
    private uint _sequence;
    private bool _disposed;

    /// <summary>Opens and binds the rtnetlink socket.</summary>
    /// <exception cref="TunException">The socket could not be opened.</exception>
    public unsafe LinuxRouter(ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, RtNetlink.NETLINK_ROUTE);
        if (fd < 0)
        {
            throw LinuxErrors.OperationFailed("open the rtnetlink socket", errno, null, Environment.ProcessPath);
        }

        _socket = new SafeFileDescriptorHandle(fd);
        try
        {
            var address = new Interop.sockaddr_nl { nl_family = (ushort)(int)AF_NETLINK };
            if (bind(fd, (Tmds.Linux.sockaddr*)&address, sizeof(Interop.sockaddr_nl)) < 0)
            {
                throw LinuxErrors.OperationFailed("bind the rtnetlink socket", errno, null, Environment.ProcessPath);
            }

            // Best effort: kernels before 4.12 lack extended acks, which only add detail to error messages.
            int on = 1;
            setsockopt(fd, RtNetlink.SOL_NETLINK, RtNetlink.NETLINK_EXT_ACK, &on, sizeof(int));
            setsockopt(fd, RtNetlink.SOL_NETLINK, RtNetlink.NETLINK_CAP_ACK, &on, sizeof(int));

            // The kernel always answers a request; the timeout only guards against a lost answer hanging Dispose.
            var timeout = new Interop.timeval { tv_sec = (long)s_answerTimeout.TotalSeconds };
            if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(Interop.timeval)) < 0)
            {
                throw LinuxErrors.OperationFailed("set the rtnetlink socket's receive timeout", errno, null, Environment.ProcessPath);
            }
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        // Start from a random sequence number so that answers to another instance's requests are never taken for ours.
        _sequence = (uint)Random.Shared.Next();
    }

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
            (bool wasUp, int oldMtu) = GetLink(interfaceIndex, what);
            Span<byte> request = stackalloc byte[RequestBufferSize];
            int length = RtNetlink.EncodeSetLink(request, NextSequence(), interfaceIndex, up: true, mtu);
            Execute(request[..length], what);
            _journal.Add(Change.ForLink(interfaceIndex, wasUp, oldMtu));
            TunLog.RouterChanged(_logger, what);
        }
    }

    /// <inheritdoc/>
    public void AddAddress(int interfaceIndex, InterfaceAddress address)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interfaceIndex);
        ValidateAddress(address);
        string what = Describe(true, interfaceIndex, address);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Span<byte> request = stackalloc byte[RequestBufferSize];
            int length = RtNetlink.EncodeAddress(request, NextSequence(), add: true, interfaceIndex, address);
            int error = Send(request[..length], out string? kernelMessage);
            if (error == LinuxErrors.EEXIST)
            {
                // Someone else's address: not our change, so it must survive our Dispose.
                TunLog.AddressAlreadyPresent(_logger, address.ToString(), interfaceIndex);
                return;
            }

            ThrowIfError(error, what, kernelMessage);
            _journal.Add(Change.ForAddress(interfaceIndex, address));
            TunLog.RouterChanged(_logger, what);
        }
    }

    /// <inheritdoc/>
    public void AddRoute(RouteEntry route)
    {
        ValidateRoute(route);
        string what = "add route " + route;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Span<byte> request = stackalloc byte[RequestBufferSize];
            int length = RtNetlink.EncodeRoute(request, NextSequence(), add: true, route);
            Execute(request[..length], what);
            _journal.Add(Change.ForAddedRoute(route));
            TunLog.RouterChanged(_logger, what);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Removing a route this router added also drops it from the journal. Removing a route it did not add is
    /// journalled in turn: Dispose adds it back (with the same destination, interface, gateway, table and metric).
    /// </remarks>
    public void RemoveRoute(RouteEntry route)
    {
        ValidateRoute(route);
        string what = "remove route " + route;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Span<byte> request = stackalloc byte[RequestBufferSize];
            int length = RtNetlink.EncodeRoute(request, NextSequence(), add: false, route);
            int error = Send(request[..length], out string? kernelMessage);
            bool wasPresent = error == 0;
            if (error != 0 && !IsAlreadyGone(error))
            {
                ThrowIfError(error, what, kernelMessage);
            }

            int added = _journal.FindLastIndex(c => c.Kind == ChangeKind.AddedRoute && c.Route == route);
            if (added >= 0)
            {
                _journal.RemoveAt(added);
            }
            else if (wasPresent)
            {
                _journal.Add(Change.ForRemovedRoute(route));
            }

            TunLog.RouterChanged(_logger, wasPresent ? what : what + " (already gone)");
        }
    }

    /// <inheritdoc/>
    public RouteEntry? Lookup(IPAddress destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"{destination} is not an IPv4 or IPv6 address.", nameof(destination));
        }

        string what = "look up the route to " + destination;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Span<byte> request = stackalloc byte[RequestBufferSize];
            int length = RtNetlink.EncodeGetRoute(request, NextSequence(), destination);
            int error = Transact(request[..length], out int replyLength, out string? kernelMessage);
            if (error is LinuxErrors.ENETUNREACH or LinuxErrors.EHOSTUNREACH or LinuxErrors.EACCES)
            {
                return null; // no route, an unreachable route, or a prohibit route (lookups need no privilege)
            }

            ThrowIfError(error, what, kernelMessage);
            RouteEntry? route = RtNetlink.ParseRoute(_receiveBuffer.AsSpan(0, replyLength), out byte type);
            if (route is null || type is not (RtNetlink.RTN_UNICAST or RtNetlink.RTN_LOCAL))
            {
                return null; // unreachable, blackhole or prohibit routes
            }

            int hostPrefix = destination.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            return route with { Destination = new IPNetwork(destination, hostPrefix) };
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

    private void Undo(Change change)
    {
        string what = change.DescribeUndo();
        TunLog.RouterUndoing(_logger, what);
        try
        {
            Span<byte> request = stackalloc byte[RequestBufferSize];
            uint sequence = NextSequence();
            int length = change.Kind switch
            {
                ChangeKind.Link => RtNetlink.EncodeSetLink(request, sequence, change.InterfaceIndex, change.WasUp, change.Mtu),
                ChangeKind.Address => RtNetlink.EncodeAddress(request, sequence, add: false, change.InterfaceIndex, change.Address),
                ChangeKind.AddedRoute => RtNetlink.EncodeRoute(request, sequence, add: false, change.Route!),
                _ => RtNetlink.EncodeRoute(request, sequence, add: true, change.Route!),
            };
            int error = Send(request[..length], out string? kernelMessage);
            if (error != 0 && IsAlreadyGone(error))
            {
                TunLog.RouterUndoNotNeeded(_logger, what, LinuxErrors.Text(error));
                return;
            }

            ThrowIfError(error, what, kernelMessage);
        }
        catch (Exception e) when (e is TunException or IOException or InvalidDataException)
        {
            TunLog.RouterUndoFailed(_logger, e, what);
        }
    }

    /// <summary>Errors that mean the object to delete no longer exists (for example because its TUN device closed).</summary>
    private static bool IsAlreadyGone(int error)
        => error is LinuxErrors.ENOENT or LinuxErrors.ESRCH or LinuxErrors.ENODEV or LinuxErrors.EADDRNOTAVAIL;

    private (bool Up, int Mtu) GetLink(int interfaceIndex, string what)
    {
        Span<byte> request = stackalloc byte[RequestBufferSize];
        int length = RtNetlink.EncodeGetLink(request, NextSequence(), interfaceIndex);
        int error = Transact(request[..length], out int replyLength, out string? kernelMessage);
        ThrowIfError(error, what, kernelMessage);
        if (!RtNetlink.TryParseLink(_receiveBuffer.AsSpan(0, replyLength), out _, out uint flags, out int mtu))
        {
            throw new TunException($"Cannot {what}: the kernel's description of link #{interfaceIndex} could not be parsed.");
        }

        return ((flags & RtNetlink.IFF_UP) != 0, mtu);
    }

    private void Execute(ReadOnlySpan<byte> request, string what)
    {
        int error = Send(request, out string? kernelMessage);
        ThrowIfError(error, what, kernelMessage);
    }

    private static void ThrowIfError(int error, string what, string? kernelMessage)
    {
        if (error != 0)
        {
            throw LinuxErrors.OperationFailed(what, error, kernelMessage, Environment.ProcessPath);
        }
    }

    /// <summary>Sends a request with NLM_F_ACK and returns the errno of its acknowledgement (0 on success).</summary>
    private int Send(ReadOnlySpan<byte> request, out string? kernelMessage)
        => Transact(request, out _, out kernelMessage);

    /// <summary>
    /// Sends one request and receives until the message answering it: an NLMSG_ERROR (returns its errno, 0 for an
    /// ack) or a data message (returns 0; the message is at the start of <see cref="_receiveBuffer"/> with
    /// <paramref name="replyLength"/> bytes). Messages with another sequence number, or not from the kernel, are skipped.
    /// </summary>
    private unsafe int Transact(ReadOnlySpan<byte> request, out int replyLength, out string? kernelMessage)
    {
        replyLength = 0;
        kernelMessage = null;
        uint sequence = MemoryMarshal.Read<uint>(request[8..]);
        bool addedRef = false;
        try
        {
            _socket.DangerousAddRef(ref addedRef);
            int fd = _socket.Fd;
            long sent;
            fixed (byte* p = request)
            {
                do
                {
                    sent = send(fd, p, request.Length, 0);
                }
                while (sent < 0 && errno == LinuxErrors.EINTR);
            }

            if (sent < 0)
            {
                throw LinuxErrors.OperationFailed("send an rtnetlink request", errno, null, Environment.ProcessPath);
            }

            while (true)
            {
                long received;
                var from = default(Interop.sockaddr_nl);
                Tmds.Linux.socklen_t fromLength = sizeof(Interop.sockaddr_nl);
                fixed (byte* p = _receiveBuffer)
                {
                    received = recvfrom(fd, p, _receiveBuffer.Length, 0, (Tmds.Linux.sockaddr*)&from, &fromLength);
                }

                if (received < 0)
                {
                    int error = errno;
                    if (error == LinuxErrors.EINTR)
                    {
                        continue;
                    }

                    if (error == LinuxErrors.EAGAIN)
                    {
                        throw new TunException(
                            $"The kernel did not answer an rtnetlink request within {s_answerTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.")
                        {
                            ErrorCode = LinuxErrors.ETIMEDOUT,
                        };
                    }

                    throw LinuxErrors.OperationFailed("receive an rtnetlink answer", error, null, Environment.ProcessPath);
                }

                if (from.nl_pid != 0)
                {
                    continue; // not from the kernel
                }

                int offset = 0;
                while (RtNetlink.TryReadHeader(_receiveBuffer.AsSpan(offset, (int)received - offset), out int length, out ushort type, out _, out uint messageSequence))
                {
                    ReadOnlySpan<byte> message = _receiveBuffer.AsSpan(offset, length);
                    if (messageSequence == sequence)
                    {
                        if (type == RtNetlink.NLMSG_ERROR)
                        {
                            return RtNetlink.ParseError(message, out kernelMessage);
                        }

                        if (type != RtNetlink.NLMSG_DONE)
                        {
                            if (offset != 0)
                            {
                                message.CopyTo(_receiveBuffer);
                            }

                            replyLength = length;
                            return 0;
                        }
                    }

                    offset += RtNetlink.Align(length);
                    if (offset >= received)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            if (addedRef)
            {
                _socket.DangerousRelease();
            }
        }
    }

    private uint NextSequence() => ++_sequence == 0 ? ++_sequence : _sequence;

    private static string Describe(bool add, int interfaceIndex, InterfaceAddress address)
        => $"{(add ? "add" : "remove")} address {address} dev #{interfaceIndex}";

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
        if (route.InterfaceIndex <= 0)
        {
            throw new ArgumentException($"Route {route} needs an interface index.", nameof(route));
        }

        if (route.Table is <= 0 or > int.MaxValue || route.Metric < 0)
        {
            throw new ArgumentException($"Route {route} has an invalid table or metric.", nameof(route));
        }

        AddressFamily family = route.Destination.BaseAddress.AddressFamily;
        if (route.Gateway is not null && route.Gateway.AddressFamily != family)
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
    private sealed record Change(ChangeKind Kind, int InterfaceIndex, bool WasUp, int Mtu, InterfaceAddress Address, RouteEntry? Route)
    {
        public static Change ForLink(int interfaceIndex, bool wasUp, int mtu) => new(ChangeKind.Link, interfaceIndex, wasUp, mtu, default, null);

        public static Change ForAddress(int interfaceIndex, InterfaceAddress address) => new(ChangeKind.Address, interfaceIndex, false, 0, address, null);

        public static Change ForAddedRoute(RouteEntry route) => new(ChangeKind.AddedRoute, route.InterfaceIndex, false, 0, default, route);

        public static Change ForRemovedRoute(RouteEntry route) => new(ChangeKind.RemovedRoute, route.InterfaceIndex, false, 0, default, route);

        public string DescribeUndo() => Kind switch
        {
            ChangeKind.Link => $"set link #{InterfaceIndex} {(WasUp ? "up" : "down")} with mtu {Mtu}",
            ChangeKind.Address => LinuxRouter.Describe(false, InterfaceIndex, Address),
            ChangeKind.AddedRoute => "remove route " + Route,
            _ => "add route " + Route,
        };
    }
}
