using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Steer.Protocol;
using Steer.Tun;

namespace Steer;

/// <summary>The TUN interface, its routes, and the packet pump from the interface into the tunnel.</summary>
public sealed partial class SteerClient
{
    /// <summary>
    /// Metric of the host and exclusion routes Steer adds through the physical interface. A metric of its own makes
    /// each such route a distinct kernel route, so Steer never replaces (and on exit never deletes) a route the
    /// user already had for the same prefix.
    /// </summary>
    private const int BypassMetric = 57;

    private ITunDevice? _device;
    private IRouter? _router;
    private CancellationTokenSource? _pumpStop;
    private Task? _pump;
    private InterfaceAddress? _innerIPv4;
    private InterfaceAddress? _innerIPv6;
    private int _tunnelMtu = 1280;
    private long _tooBig;

    private void EnsureInterface(Session session)
    {
        InterfaceAddress ipv4 = InterfaceAddress.Parse(session.Welcome.Ipv4);
        InterfaceAddress? ipv6 = session.Welcome.Ipv6 is { } v6 ? InterfaceAddress.Parse(v6) : null;
        if (_device is not null)
        {
            if (ipv4 == _innerIPv4 && ipv6 == _innerIPv6 && session.Welcome.Mtu == _tunnelMtu)
            {
                return;
            }

            LogAddressChanged(_logger, _innerIPv4?.ToString() ?? "-", ipv4.ToString());
            TeardownInterfaceAsync().AsTask().GetAwaiter().GetResult();
        }

        _tunnelMtu = session.Welcome.Mtu;
        int interfaceMtu = _options.InterfaceMtu ?? session.Welcome.Mtu;
        ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = _options.InterfaceName, Mtu = interfaceMtu }, _logger);
        IRouter? router = null;
        try
        {
            router = Router.Create(_logger);

            // Decide the bypass routes before the TUN routes exist, so lookups still see the physical path.
            List<RouteEntry> bypass = PlanBypassRoutes(router, device.InterfaceIndex);
            router.SetInterfaceUp(device.InterfaceIndex, interfaceMtu);
            router.AddAddress(device.InterfaceIndex, ipv4);
            if (ipv6 is { } a6)
            {
                router.AddAddress(device.InterfaceIndex, a6);
            }

            foreach (RouteEntry route in bypass)
            {
                router.AddRoute(route);
            }

            foreach (IPNetwork include in _config.Steering.IncludeCidrs)
            {
                if (include.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 && ipv6 is null)
                {
                    continue; // No inner IPv6: leave IPv6 alone rather than black-holing it.
                }

                foreach (IPNetwork part in SplitDefault(include))
                {
                    router.AddRoute(new RouteEntry(part, device.InterfaceIndex));
                }
            }
        }
        catch
        {
            router?.Dispose();
            device.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        _device = device;
        _router = router;
        _innerIPv4 = ipv4;
        _innerIPv6 = ipv6;
        _pumpStop = new CancellationTokenSource();
        _pump = Task.Run(() => PumpFromTunAsync(device, _pumpStop.Token));
        UpdateStatus(s => s with { Interface = device.Name, InnerIPv4 = ipv4.ToString(), InnerIPv6 = ipv6?.ToString() });
    }

    /// <summary>
    /// Routes that must keep using the physical path: the gateways themselves (so the tunnel cannot loop into
    /// itself) and the configured exclusions, each copied from the kernel's current choice.
    /// </summary>
    private List<RouteEntry> PlanBypassRoutes(IRouter router, int tunIndex)
    {
        var routes = new List<RouteEntry>();
        IEnumerable<IPNetwork> targets = _config.Gateways
            .Select(g => IPAddress.TryParse(g.Address, out IPAddress? ip) ? new IPNetwork(ip, ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) : (IPNetwork?)null)
            .OfType<IPNetwork>()
            .Concat(_config.Steering.ExcludeCidrs);
        foreach (IPNetwork target in targets.Distinct())
        {
            RouteEntry? current = router.Lookup(target.BaseAddress);
            if (current is null || current.InterfaceIndex == tunIndex)
            {
                continue; // Unreachable directly today: nothing to preserve.
            }

            routes.Add(current with { Destination = target, Table = RouteEntry.MainTable, Metric = BypassMetric });
        }

        return routes;
    }

    /// <summary>A default route is added as two halves so it wins over, but does not replace, the host's default.</summary>
    private static IEnumerable<IPNetwork> SplitDefault(IPNetwork network)
    {
        if (network.PrefixLength != 0)
        {
            yield return network;
            yield break;
        }

        bool v4 = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        yield return new IPNetwork(v4 ? IPAddress.Any : IPAddress.IPv6Any, 1);
        yield return new IPNetwork(v4 ? IPAddress.Parse("128.0.0.0") : IPAddress.Parse("8000::"), 1);
    }

    private async ValueTask TeardownInterfaceAsync()
    {
        if (_pumpStop is not null)
        {
            await _pumpStop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _pump!.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _pumpStop.Dispose();
            _pumpStop = null;
            _pump = null;
        }

        _router?.Dispose();
        _router = null;
        if (_device is not null)
        {
            await _device.DisposeAsync().ConfigureAwait(false);
            _device = null;
        }

        UpdateStatus(s => s with { Interface = null });
    }

    /// <summary>Reads packets from the TUN and queues them on the current tunnel; drops them while there is none.</summary>
    private async Task PumpFromTunAsync(ITunDevice device, CancellationToken ct)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(Math.Max(device.Mtu, 1500) + 64);
        byte[] tooBig = new byte[IcmpTooBig.MaxLength];
        while (!ct.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await device.ReadAsync(buffer, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (TunException ex)
            {
                LogTunReadFailed(_logger, ex.Message);
                await Task.Delay(100, ct).ConfigureAwait(false);
                continue;
            }

            TunnelConnection? connection = Volatile.Read(ref _connection);
            if (connection is null || !IpPacket.IsTunnelable(buffer.AsSpan(0, length)))
            {
                Interlocked.Increment(ref _droppedOutside);
                continue;
            }

            if (length > EffectiveTunnelMtu)
            {
                // Bigger than the tunnel carries (the interface MTU may be larger than the session's): answer with
                // ICMP "too big" so the sender's path-MTU discovery adapts, instead of a silent black hole.
                AnswerTooBig(device, buffer.AsSpan(0, length), tooBig);
                continue;
            }

            SendToTunnel(connection, buffer.AsSpan(0, length));
        }
    }

    private void AnswerTooBig(ITunDevice device, ReadOnlySpan<byte> packet, byte[] answer)
    {
        Interlocked.Increment(ref _tooBig);
        if (IcmpTooBig.TryBuild(packet, EffectiveTunnelMtu, answer, out int written))
        {
            ValueTask write = device.WriteAsync(answer.AsMemory(0, written));
            if (!write.IsCompletedSuccessfully)
            {
                _ = write.AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            }
        }
    }

    private ValueTask WriteToTunAsync(ReadOnlyMemory<byte> packet, CancellationToken ct)
    {
        ITunDevice? device = _device;
        if (device is null || IpPacket.GetVersion(packet.Span) == 0)
        {
            Interlocked.Increment(ref _droppedOutside);
            return ValueTask.CompletedTask;
        }

        ValueTask write = device.WriteAsync(packet, ct);
        return write.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitWrite(write);

        async ValueTask AwaitWrite(ValueTask pending)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (TunException)
            {
                // The kernel refused this one packet (e.g. malformed); the session goes on.
                Interlocked.Increment(ref _droppedOutside);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway assigned new inner addresses ({Old} -> {New}); recreating the interface")]
    private static partial void LogAddressChanged(ILogger logger, string old, string @new);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TUN read failed: {Error}")]
    private static partial void LogTunReadFailed(ILogger logger, string error);
}
