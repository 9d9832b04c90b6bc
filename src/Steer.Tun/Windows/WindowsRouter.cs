using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Tun.MacOS;
using static Steer.Tun.Windows.Interop.Errors;
using static Steer.Tun.Windows.Interop.NetIoConstants;

namespace Steer.Tun.Windows;

/// <summary>
/// <see cref="IRouter"/> for Windows over the IP Helper API (no <c>netsh</c>): MTU and interface metric through
/// Get/SetIpInterfaceEntry, addresses through CreateUnicastIpAddressEntry, routes through CreateIpForwardEntry2 /
/// DeleteIpForwardEntry2, lookups through GetBestRoute2. A default route is covered by its two halves
/// (<see cref="DefaultRouteSplit"/>). Every change is journalled and undone in reverse order on <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// Windows has one routing table per compartment: <see cref="RouteEntry.Table"/> must be <see cref="RouteEntry.MainTable"/>.
/// A route or address that already exists is left alone and not journalled.
/// </remarks>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsRouter : IRouter
{
    /// <summary>
    /// The interface metric Steer gives its adapter: low, so that Windows prefers the tunnel's DNS servers and, for
    /// equally specific routes, the tunnel.
    /// </summary>
    internal const uint InterfaceMetric = 5;

    private readonly Lock _gate = new();
    private readonly List<Change> _journal = [];
    private readonly ILogger _logger;
    private bool _disposed;

    /// <summary>Creates the router; the IP Helper API needs no handle.</summary>
    public WindowsRouter(ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>True on Windows.</summary>
    public static bool IsSupported => OperatingSystem.IsWindows();

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
                Interop.MIB_IPINTERFACE_ROW before = row;
                row.NlMtu = (uint)mtu;
                row.UseAutomaticMetric = 0;
                row.Metric = InterfaceMetric;
                ThrowIfError(WindowsInterfaceControl.TrySet(row), what);
                _journal.Add(Change.ForInterface(interfaceIndex, before));
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
            Interop.MIB_UNICASTIPADDRESS_ROW row = AddressRow(interfaceIndex, address);
            int error = Interop.IpHelper.CreateUnicastIpAddressEntry(&row);
            if (error == ERROR_OBJECT_ALREADY_EXISTS)
            {
                WindowsLog.AlreadyPresent(_logger, $"Address {address} on interface #{interfaceIndex}");
                return;
            }

            ThrowIfError(error, what);
            _journal.Add(Change.ForAddress(interfaceIndex, address));
            TunLog.RouterChanged(_logger, what);
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
                Interop.MIB_IPFORWARD_ROW2 row = RouteRow(entry);
                int error = Interop.IpHelper.CreateIpForwardEntry2(&row);
                if (error == ERROR_OBJECT_ALREADY_EXISTS)
                {
                    WindowsLog.AlreadyPresent(_logger, "Route " + entry);
                    continue;
                }

                ThrowIfError(error, what);
                _journal.Add(Change.ForRoute(ChangeKind.AddedRoute, entry));
                TunLog.RouterChanged(_logger, what);
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
                Interop.MIB_IPFORWARD_ROW2 row = RouteRow(entry);
                int error = Interop.IpHelper.DeleteIpForwardEntry2(&row);
                bool wasPresent = error == 0;
                if (error != 0 && error != ERROR_NOT_FOUND)
                {
                    ThrowIfError(error, what);
                }

                int added = _journal.FindLastIndex(c => c.Kind == ChangeKind.AddedRoute && c.Route == entry);
                if (added >= 0)
                {
                    _journal.RemoveAt(added);
                }
                else if (wasPresent)
                {
                    _journal.Add(Change.ForRoute(ChangeKind.RemovedRoute, entry));
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

    /// <summary>Undoes every journalled change in reverse order. Never throws.</summary>
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
        }
    }

    private void Undo(Change change)
    {
        string what = change.DescribeUndo();
        TunLog.RouterUndoing(_logger, what);
        int error;
        switch (change.Kind)
        {
            case ChangeKind.Interface:
                error = WindowsInterfaceControl.TrySet(change.Interface);
                break;
            case ChangeKind.Address:
                Interop.MIB_UNICASTIPADDRESS_ROW address = AddressRow(change.InterfaceIndex, change.Address);
                error = Interop.IpHelper.DeleteUnicastIpAddressEntry(&address);
                break;
            case ChangeKind.AddedRoute:
                Interop.MIB_IPFORWARD_ROW2 added = RouteRow(change.Route!);
                error = Interop.IpHelper.DeleteIpForwardEntry2(&added);
                break;
            default:
                Interop.MIB_IPFORWARD_ROW2 removed = RouteRow(change.Route!);
                error = Interop.IpHelper.CreateIpForwardEntry2(&removed);
                if (error == ERROR_OBJECT_ALREADY_EXISTS)
                {
                    error = 0;
                }

                break;
        }

        if (error == 0)
        {
            return;
        }

        // The adapter (and everything on it) is gone once the TUN device is closed.
        if (error is ERROR_NOT_FOUND or ERROR_FILE_NOT_FOUND or ERROR_INVALID_PARAMETER)
        {
            TunLog.RouterUndoNotNeeded(_logger, what, WindowsErrors.Describe(error));
            return;
        }

        TunLog.RouterUndoFailed(_logger, WindowsErrors.OperationFailed(what, error), what);
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

    private enum ChangeKind
    {
        Interface,
        Address,
        AddedRoute,
        RemovedRoute,
    }

    /// <summary>One journal entry: what was changed, with what is needed to change it back.</summary>
    private sealed record Change(ChangeKind Kind, int InterfaceIndex, Interop.MIB_IPINTERFACE_ROW Interface, InterfaceAddress Address, RouteEntry? Route)
    {
        public static Change ForInterface(int interfaceIndex, Interop.MIB_IPINTERFACE_ROW before) => new(ChangeKind.Interface, interfaceIndex, before, default, null);

        public static Change ForAddress(int interfaceIndex, InterfaceAddress address) => new(ChangeKind.Address, interfaceIndex, default, address, null);

        public static Change ForRoute(ChangeKind kind, RouteEntry route) => new(kind, route.InterfaceIndex, default, default, route);

        public string DescribeUndo() => Kind switch
        {
            ChangeKind.Interface => $"restore link #{InterfaceIndex} ({(Interface.Family == AF_INET ? "IPv4" : "IPv6")}) mtu {Interface.NlMtu} metric {(Interface.UseAutomaticMetric != 0 ? "automatic" : Interface.Metric.ToString(System.Globalization.CultureInfo.InvariantCulture))}",
            ChangeKind.Address => $"remove address {Address} dev #{InterfaceIndex}",
            ChangeKind.AddedRoute => "remove route " + Route,
            _ => "add route " + Route,
        };
    }
}
