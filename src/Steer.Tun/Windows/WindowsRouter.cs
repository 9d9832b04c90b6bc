using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Tun.Journal;
using Steer.Tun.MacOS;
using static Steer.Tun.Windows.Interop.Errors;
using static Steer.Tun.Windows.Interop.NetIoConstants;

namespace Steer.Tun.Windows;

/// <summary>
/// <see cref="IRouter"/> for Windows over the IP Helper API (no <c>netsh</c>): MTU and interface metric through
/// Get/SetIpInterfaceEntry, addresses through CreateUnicastIpAddressEntry, routes through CreateIpForwardEntry2 /
/// DeleteIpForwardEntry2, lookups through GetBestRoute2. A default route is covered by its two halves
/// (<see cref="DefaultRouteSplit"/>). Every change is journalled (<see cref="ChangeJournal"/>) and undone in reverse
/// order on <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// Windows has one routing table per compartment: <see cref="RouteEntry.Table"/> must be <see cref="RouteEntry.MainTable"/>.
/// A route or address that already exists is left alone and not journalled. No policy rules, no route types other
/// than unicast (<see cref="SupportsPolicyRules"/> is false).
/// </remarks>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsRouter : IRouter, IChangeUndoer
{
    /// <summary>
    /// The interface metric Steer gives its adapter: low, so that Windows prefers the tunnel's DNS servers and, for
    /// equally specific routes, the tunnel.
    /// </summary>
    internal const uint InterfaceMetric = 5;

    private readonly Lock _gate = new();
    private readonly ChangeJournal _journal;
    private readonly ILogger _logger;
    private bool _disposed;

    /// <summary>Creates the router (the IP Helper API needs no handle) and opens the journal, undoing leftovers found in its file.</summary>
    /// <param name="logger">Receives one debug message per change.</param>
    /// <param name="journalPath">The on-disk journal, or <see langword="null"/> for one in memory only.</param>
    /// <exception cref="TunException">The journal could not be opened.</exception>
    public WindowsRouter(ILogger? logger, string? journalPath = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _journal = ChangeJournal.Open(journalPath, this, _logger);
    }

    /// <summary>True on Windows.</summary>
    public static bool IsSupported => OperatingSystem.IsWindows();

    /// <inheritdoc/>
    public bool SupportsPolicyRules => false;

    /// <inheritdoc/>
    /// <remarks>
    /// Sets the MTU and a fixed low interface metric for IPv4 and (when enabled) IPv6. A Wintun adapter is up while
    /// its session runs, so there is no separate "up" step.
    /// </remarks>
    public void SetInterfaceUp(int interfaceIndex, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interfaceIndex);
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, TunDeviceOptions.MinMtu);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mtu, TunDeviceOptions.MaxMtu);
        string what = $"set link #{interfaceIndex} mtu {mtu} metric {InterfaceMetric}";
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (ushort family in WindowsInterfaceControl.Families)
            {
                int error = WindowsInterfaceControl.TryGet(family, interfaceIndex, out Interop.MIB_IPINTERFACE_ROW row);
                if (error == ERROR_NOT_FOUND && family == AF_INET6)
                {
                    WindowsLog.NoIpv6(_logger, interfaceIndex);
                    continue;
                }

                ThrowIfError(error, what);
                RouterChange change = RouterChange.ForInterfaceSettings(
                    interfaceIndex, family == AF_INET ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6,
                    (int)row.NlMtu, row.Metric, row.UseAutomaticMetric != 0);
                _journal.Record(change, () =>
                {
                    Interop.MIB_IPINTERFACE_ROW updated = row;
                    updated.NlMtu = (uint)mtu;
                    updated.UseAutomaticMetric = 0;
                    updated.Metric = InterfaceMetric;
                    ThrowIfError(WindowsInterfaceControl.TrySet(updated), what);
                    return true;
                });
            }

            TunLog.RouterChanged(_logger, what);
        }
    }

    /// <inheritdoc/>
    public void AddAddress(int interfaceIndex, InterfaceAddress address)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interfaceIndex);
        ValidateAddress(address);
        string what = $"add address {address} dev #{interfaceIndex}";
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _journal.Record(RouterChange.ForAddress(interfaceIndex, address), () =>
            {
                Interop.MIB_UNICASTIPADDRESS_ROW row = AddressRow(interfaceIndex, address);
                int error = Interop.IpHelper.CreateUnicastIpAddressEntry(&row);
                if (error == ERROR_OBJECT_ALREADY_EXISTS)
                {
                    WindowsLog.AlreadyPresent(_logger, $"Address {address} on interface #{interfaceIndex}");
                    return false;
                }

                ThrowIfError(error, what);
                TunLog.RouterChanged(_logger, what);
                return true;
            });
        }
    }

    /// <inheritdoc/>
    public void AddRoute(RouteEntry route)
    {
        ValidateRoute(route);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (IPNetwork part in DefaultRouteSplit.Split(route.Destination))
            {
                RouteEntry entry = route with { Destination = part };
                string what = "add route " + entry;
                _journal.Record(RouterChange.ForAddedRoute(entry), () =>
                {
                    Interop.MIB_IPFORWARD_ROW2 row = RouteRow(entry);
                    int error = Interop.IpHelper.CreateIpForwardEntry2(&row);
                    if (error == ERROR_OBJECT_ALREADY_EXISTS)
                    {
                        WindowsLog.AlreadyPresent(_logger, "Route " + entry);
                        return false;
                    }

                    ThrowIfError(error, what);
                    TunLog.RouterChanged(_logger, what);
                    return true;
                });
            }
        }
    }

    /// <inheritdoc/>
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
    public RouteEntry? Lookup(IPAddress destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"{destination} is not an IPv4 or IPv6 address.", nameof(destination));
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }

        Interop.SOCKADDR_INET target = SockaddrInet.From(destination);
        Interop.MIB_IPFORWARD_ROW2 best;
        Interop.SOCKADDR_INET source;
        int error = Interop.IpHelper.GetBestRoute2(null, 0, null, &target, 0, &best, &source);
        if (error is ERROR_NOT_FOUND or ERROR_NETWORK_UNREACHABLE or ERROR_HOST_UNREACHABLE)
        {
            return null;
        }

        ThrowIfError(error, "look up the route to " + destination);
        IPAddress? gateway = SockaddrInet.ToAddress(best.NextHop);
        if (gateway is not null && (gateway.Equals(IPAddress.Any) || gateway.Equals(IPAddress.IPv6Any)))
        {
            gateway = null;
        }

        int hostPrefix = destination.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        return new RouteEntry(new IPNetwork(destination, hostPrefix), (int)best.InterfaceIndex, gateway, RouteEntry.MainTable, (int)Math.Min(best.Metric, int.MaxValue));
    }

    /// <inheritdoc/>
    public void AddRule(RoutingRule rule) => throw PolicyRoutingNotSupported();

    /// <inheritdoc/>
    public void RemoveRule(RoutingRule rule) => throw PolicyRoutingNotSupported();

    /// <inheritdoc/>
    public void FlushTable(int table, AddressFamily family) => throw PolicyRoutingNotSupported();

    /// <summary>Undoes every journalled change in reverse order; deletes the journal file when everything was undone. Never throws.</summary>
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
        }
    }

    /// <inheritdoc/>
    string? IChangeUndoer.Undo(RouterChange change)
    {
        string what = change.DescribeUndo();
        int error;
        switch (change.Kind)
        {
            case RouterChangeKind.InterfaceSettings:
                ushort family = change.Family == AddressFamily.InterNetwork ? AF_INET : AF_INET6;
                error = WindowsInterfaceControl.TryGet(family, change.InterfaceIndex, out Interop.MIB_IPINTERFACE_ROW row);
                if (error == 0)
                {
                    row.NlMtu = (uint)change.Mtu;
                    row.Metric = change.Metric;
                    row.UseAutomaticMetric = change.AutomaticMetric ? (byte)1 : (byte)0;
                    error = WindowsInterfaceControl.TrySet(row);
                }

                break;
            case RouterChangeKind.Address:
                Interop.MIB_UNICASTIPADDRESS_ROW address = AddressRow(change.InterfaceIndex, change.Address.GetValueOrDefault());
                error = Interop.IpHelper.DeleteUnicastIpAddressEntry(&address);
                break;
            case RouterChangeKind.AddedRoute:
                Interop.MIB_IPFORWARD_ROW2 added = RouteRow(change.Route!);
                error = Interop.IpHelper.DeleteIpForwardEntry2(&added);
                break;
            case RouterChangeKind.RemovedRoute:
                Interop.MIB_IPFORWARD_ROW2 removed = RouteRow(change.Route!);
                error = Interop.IpHelper.CreateIpForwardEntry2(&removed);
                if (error == ERROR_OBJECT_ALREADY_EXISTS)
                {
                    return WindowsErrors.Describe(error);
                }

                break;
            default:
                throw new NotSupportedException($"Cannot {what} on Windows: {change.Kind} changes are made by another operating system's router.");
        }

        if (error == 0)
        {
            return null;
        }

        // The adapter (and everything on it) is gone once the TUN device is closed.
        if (error is ERROR_NOT_FOUND or ERROR_FILE_NOT_FOUND or ERROR_INVALID_PARAMETER)
        {
            return WindowsErrors.Describe(error);
        }

        throw WindowsErrors.OperationFailed(what, error);
    }

    private static PlatformNotSupportedException PolicyRoutingNotSupported()
        => new("Policy routing rules and routing tables are Linux-only: Windows has a single routing table per compartment (IRouter.SupportsPolicyRules is false).");

    /// <summary>Deletes a route; returns false when it was already gone.</summary>
    private static bool DeleteRoute(RouteEntry entry, string what)
    {
        Interop.MIB_IPFORWARD_ROW2 row = RouteRow(entry);
        int error = Interop.IpHelper.DeleteIpForwardEntry2(&row);
        if (error != 0 && error != ERROR_NOT_FOUND)
        {
            ThrowIfError(error, what);
        }

        return error == 0;
    }

    private static Interop.MIB_UNICASTIPADDRESS_ROW AddressRow(int interfaceIndex, InterfaceAddress address)
    {
        Interop.MIB_UNICASTIPADDRESS_ROW row;
        Interop.IpHelper.InitializeUnicastIpAddressEntry(&row);
        row.Address = SockaddrInet.From(address.Address);
        row.InterfaceIndex = (uint)interfaceIndex;
        row.OnLinkPrefixLength = (byte)address.PrefixLength;
        row.DadState = IpDadStatePreferred;
        row.ValidLifetime = InfiniteLifetime;
        row.PreferredLifetime = InfiniteLifetime;
        return row;
    }

    private static Interop.MIB_IPFORWARD_ROW2 RouteRow(RouteEntry route)
    {
        Interop.MIB_IPFORWARD_ROW2 row;
        Interop.IpHelper.InitializeIpForwardEntry(&row);
        AddressFamily family = route.Destination.BaseAddress.AddressFamily;
        row.InterfaceIndex = (uint)route.InterfaceIndex;
        row.DestinationPrefix.Prefix = SockaddrInet.From(route.Destination.BaseAddress);
        row.DestinationPrefix.PrefixLength = (byte)route.Destination.PrefixLength;
        row.NextHop = route.Gateway is null ? SockaddrInet.Unspecified(family) : SockaddrInet.From(route.Gateway);
        row.Protocol = MIB_IPPROTO_NETMGMT;
        if (route.Metric != 0)
        {
            row.Metric = (uint)route.Metric;
        }

        return row;
    }

    private static void ThrowIfError(int error, string what)
    {
        if (error != 0)
        {
            throw WindowsErrors.OperationFailed(what, error);
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
        if (route.InterfaceIndex <= 0)
        {
            throw new ArgumentException($"Route {route} needs an interface index.", nameof(route));
        }

        if (route.Type != RouteType.Unicast)
        {
            throw new PlatformNotSupportedException($"Route {route}: {route.Type} routes are Linux-only; Windows routes here are unicast.");
        }

        if (route.Table != RouteEntry.MainTable)
        {
            throw new NotSupportedException($"Route {route}: Windows has a single routing table; only table {RouteEntry.MainTable} (main) is supported.");
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
