using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Tun.Journal;
using Steer.Tun.Linux.Netlink;
using static Tmds.Linux.LibC;

namespace Steer.Tun.Linux;

/// <summary>
/// <see cref="IRouter"/> over an rtnetlink (NETLINK_ROUTE) socket: every change is one request with NLM_F_ACK whose
/// NLMSG_ERROR answer is checked, and is journalled (<see cref="ChangeJournal"/>: in memory, and on disk when
/// a journal path is given) so that <see cref="Dispose"/> — or, after a crash, <see cref="Router.RecoverLeftovers"/> —
/// can undo it. Requests are serialized by a lock; this is a configuration path, not a per-packet one.
/// </summary>
/// <remarks>
/// The rtnetlink socket belongs to the network namespace of the thread that creates the router; every change goes
/// to that namespace, whichever thread makes it.
/// </remarks>
[SupportedOSPlatform("linux")]
internal sealed class LinuxRouter : IRouter, IChangeUndoer
{
    private const int ReceiveBufferSize = 32 * 1024;
    private const int RequestBufferSize = 256;
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly SafeFileDescriptorHandle _socket;
    private readonly byte[] _receiveBuffer = new byte[ReceiveBufferSize];
    private readonly ChangeJournal _journal;
    private readonly ILogger _logger;
    private uint _sequence;
    private bool _disposed;

    /// <summary>Opens and binds the rtnetlink socket, then opens the journal (undoing leftovers found in its file).</summary>
    /// <param name="logger">Receives one debug message per change.</param>
    /// <param name="journalPath">The on-disk journal, or <see langword="null"/> for one in memory only.</param>
    /// <exception cref="TunException">The socket or the journal could not be opened.</exception>
    public unsafe LinuxRouter(ILogger? logger, string? journalPath = null)
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

            // Start from a random sequence number so that answers to another instance's requests are never taken for ours.
            _sequence = (uint)Random.Shared.Next();
            _journal = ChangeJournal.Open(journalPath, this, _logger);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public bool SupportsPolicyRules => true;

    /// <summary>The journal's path, or <see langword="null"/> when it is kept in memory only.</summary>
    internal string? JournalPath => _journal.Path;

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
            _journal.Record(RouterChange.ForLink(interfaceIndex, wasUp, oldMtu), () =>
            {
                Span<byte> request = stackalloc byte[RequestBufferSize];
                int length = RtNetlink.EncodeSetLink(request, NextSequence(), interfaceIndex, up: true, mtu);
                Execute(request[..length], what);
                return true;
            });
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
            _journal.Record(RouterChange.ForAddress(interfaceIndex, address), () =>
            {
                Span<byte> request = stackalloc byte[RequestBufferSize];
                int length = RtNetlink.EncodeAddress(request, NextSequence(), add: true, interfaceIndex, address);
                int error = Send(request[..length], out string? kernelMessage);
                if (error == LinuxErrors.EEXIST)
                {
                    // Someone else's address: not our change, so it must survive our Dispose.
                    TunLog.AddressAlreadyPresent(_logger, address.ToString(), interfaceIndex);
                    return false;
                }

                ThrowIfError(error, what, kernelMessage);
                TunLog.RouterChanged(_logger, what);
                return true;
            });
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
            _journal.Record(RouterChange.ForAddedRoute(route), () =>
            {
                Span<byte> request = stackalloc byte[RequestBufferSize];
                int length = RtNetlink.EncodeRoute(request, NextSequence(), add: true, route);
                Execute(request[..length], what);
                return true;
            });
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
            bool ours = _journal.Contains(c => c.Kind == RouterChangeKind.AddedRoute && c.Route == route);
            bool wasPresent = false;
            if (ours)
            {
                wasPresent = DeleteRoute(route, what);
                _journal.Forget(c => c.Kind == RouterChangeKind.AddedRoute && c.Route == route);
            }
            else
            {
                // Someone else's route: journalled first, so that Dispose (or a recovery) adds it back.
                _journal.Record(RouterChange.ForRemovedRoute(route), () => wasPresent = DeleteRoute(route, what));
            }

            TunLog.RouterChanged(_logger, wasPresent ? what : what + " (already gone)");
        }
    }

    /// <inheritdoc/>
    public void AddRule(RoutingRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        rule.Validate();
        string what = "add rule " + rule;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _journal.Record(RouterChange.ForAddedRule(rule), () =>
            {
                Span<byte> request = stackalloc byte[RequestBufferSize];
                int length = RtNetlink.EncodeRule(request, NextSequence(), add: true, rule);
                int error = Send(request[..length], out string? kernelMessage);
                if (error == LinuxErrors.EEXIST)
                {
                    // Already there (ours from an earlier call, or someone else's): not a change of this call.
                    TunLog.RuleAlreadyPresent(_logger, rule.ToString());
                    return false;
                }

                ThrowIfError(error, what, kernelMessage);
                TunLog.RouterChanged(_logger, what);
                return true;
            });
        }
    }

    /// <inheritdoc/>
    public void RemoveRule(RoutingRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        rule.Validate();
        string what = "remove rule " + rule;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Span<byte> request = stackalloc byte[RequestBufferSize];
            int length = RtNetlink.EncodeRule(request, NextSequence(), add: false, rule);
            int error = Send(request[..length], out string? kernelMessage);
            if (error != 0 && !IsAlreadyGone(error))
            {
                ThrowIfError(error, what, kernelMessage);
            }

            _journal.Forget(c => c.Kind == RouterChangeKind.AddedRule && c.Rule == rule);
            TunLog.RouterChanged(_logger, error == 0 ? what : what + " (already gone)");
        }
    }

    /// <inheritdoc/>
    public void FlushTable(int table, AddressFamily family)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(table);
        if (table is >= 253 and <= 255)
        {
            throw new ArgumentOutOfRangeException(nameof(table), table, "The default, main and local tables (253-255) are the host's; Steer never flushes them.");
        }

        if (family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"The family must be InterNetwork or InterNetworkV6, not {family}.", nameof(family));
        }

        string what = $"flush table {table.ToString(CultureInfo.InvariantCulture)} ({(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")})";
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            List<byte[]> routes = DumpRoutes(family, what);
            int deleted = 0;
            foreach (byte[] message in routes)
            {
                RouteEntry? route = RtNetlink.ParseRoute(message, out _);
                if (route is null || route.Table != table)
                {
                    continue;
                }

                RtNetlink.MakeDeleteFromDump(message, NextSequence());
                int error = Send(message, out string? kernelMessage);
                if (error != 0 && !IsAlreadyGone(error))
                {
                    ThrowIfError(error, $"{what}: delete route {route}", kernelMessage);
                }

                deleted += error == 0 ? 1 : 0;
            }

            _journal.ForgetAll(c => c.Kind == RouterChangeKind.AddedRoute && c.Route!.Table == table
                && c.Route.Destination.BaseAddress.AddressFamily == family);
            TunLog.TableFlushed(_logger, table, family == AddressFamily.InterNetwork ? "IPv4" : "IPv6", deleted);
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
            if (error is LinuxErrors.ENETUNREACH or LinuxErrors.EHOSTUNREACH or LinuxErrors.EACCES or LinuxErrors.EINVAL)
            {
                // No route, an unreachable or prohibit route (lookups need no privilege), or a blackhole route (EINVAL).
                return null;
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
        Span<byte> request = stackalloc byte[RequestBufferSize];
        uint sequence = NextSequence();
        int length = change.Kind switch
        {
            RouterChangeKind.Link => RtNetlink.EncodeSetLink(request, sequence, change.InterfaceIndex, change.WasUp, change.Mtu),
            RouterChangeKind.Address => RtNetlink.EncodeAddress(request, sequence, add: false, change.InterfaceIndex, change.Address.GetValueOrDefault()),
            RouterChangeKind.AddedRoute => RtNetlink.EncodeRoute(request, sequence, add: false, change.Route!),
            RouterChangeKind.RemovedRoute => RtNetlink.EncodeRoute(request, sequence, add: true, change.Route!),
            RouterChangeKind.AddedRule => RtNetlink.EncodeRule(request, sequence, add: false, change.Rule!),
            _ => throw new NotSupportedException($"Cannot {what} on Linux: {change.Kind} changes are made by another operating system's router."),
        };
        int error = Send(request[..length], out string? kernelMessage);
        if (error != 0 && IsAlreadyGone(error))
        {
            return LinuxErrors.Text(error) + " (" + LinuxErrors.Name(error) + ")";
        }

        ThrowIfError(error, what, kernelMessage);
        return null;
    }

    /// <summary>Deletes a route; returns false when it was already gone.</summary>
    private bool DeleteRoute(RouteEntry route, string what)
    {
        Span<byte> request = stackalloc byte[RequestBufferSize];
        int length = RtNetlink.EncodeRoute(request, NextSequence(), add: false, route);
        int error = Send(request[..length], out string? kernelMessage);
        if (error != 0 && !IsAlreadyGone(error))
        {
            ThrowIfError(error, what, kernelMessage);
        }

        return error == 0;
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

    /// <summary>Dumps every route of a family (all tables): one copy of each RTM_NEWROUTE message.</summary>
    private List<byte[]> DumpRoutes(AddressFamily family, string what)
    {
        Span<byte> request = stackalloc byte[RequestBufferSize];
        int length = RtNetlink.EncodeDumpRoutes(request, NextSequence(), family);
        var messages = new List<byte[]>();
        int error = Transact(request[..length], out _, out string? kernelMessage, messages);
        ThrowIfError(error, what, kernelMessage);
        return messages;
    }

    /// <summary>
    /// Sends one request and receives until the message answering it: an NLMSG_ERROR (returns its errno, 0 for an
    /// ack) or a data message (returns 0; the message is at the start of <see cref="_receiveBuffer"/> with
    /// <paramref name="replyLength"/> bytes). Messages with another sequence number, or not from the kernel, are skipped.
    /// For a dump (<paramref name="dump"/> not null), every data message is copied into <paramref name="dump"/> until
    /// NLMSG_DONE, which returns 0.
    /// </summary>
    private unsafe int Transact(ReadOnlySpan<byte> request, out int replyLength, out string? kernelMessage, List<byte[]>? dump = null)
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

                        if (dump is not null)
                        {
                            if (type == RtNetlink.NLMSG_DONE)
                            {
                                return 0;
                            }

                            dump.Add(message.ToArray());
                        }
                        else if (type != RtNetlink.NLMSG_DONE)
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
        if (route.Type == RouteType.Unicast && route.InterfaceIndex <= 0)
        {
            throw new ArgumentException($"Route {route} needs an interface index.", nameof(route));
        }

        if (route.Type != RouteType.Unicast && (route.InterfaceIndex != 0 || route.Gateway is not null))
        {
            throw new ArgumentException($"Route {route}: {route.Type} routes have no interface or gateway (interface index 0).", nameof(route));
        }

        if (!Enum.IsDefined(route.Type))
        {
            throw new ArgumentException($"Route {route} has an unknown type.", nameof(route));
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
}
