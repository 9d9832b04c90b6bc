using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Steer.Policy;
using Steer.Protocol;
using Steer.Tun;

namespace Steer;

/// <summary>The TUN interface, its routes, and the packet pump from the interface into the tunnel.</summary>
public sealed partial class SteerClient
{
    private ITunDevice? _device;
    private TunPacketWriter? _tlsTunWriter;
    private TunPacketWriter? _dtlsTunWriter;
    private IRouter? _router;
    private CancellationTokenSource? _pumpStop;
    private Task? _pump;
    private Task? _expiry;
    private InterfaceAddress? _innerIPv4;
    private InterfaceAddress? _innerIPv6;
    private int _tunnelMtu = 1280;
    private long _tooBig;

    private async Task EnsureInterfaceAsync(Session session, CancellationToken ct)
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
            await TeardownInterfaceAsync().ConfigureAwait(false);
        }

        _tunnelMtu = session.Welcome.Mtu;
        int interfaceMtu = _options.InterfaceMtu ?? session.Welcome.Mtu;
        ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = _options.InterfaceName, Mtu = interfaceMtu }, _logger);
        IRouter? router = null;
        SteeringPolicy policy;
        try
        {
            router = Router.Create(new RouterOptions { JournalPath = _options.StateDirectory is { } dir ? JournalPath(dir) : null }, _logger);
            policy = CompilePolicy(_config, ConnectedNetworks(device.InterfaceIndex));
            if (!router.SupportsPolicyRules && IPAddress.TryParse(session.Gateway.Address, out IPAddress? gatewayIp))
            {
                // macOS/Windows: no marks; the tunnel's sockets are bound to the interface that reaches the gateway now,
                // before any Steer route exists.
                _protectorOptions.InterfaceIndex = router.Lookup(gatewayIp)?.InterfaceIndex ?? 0;
            }

            router.SetInterfaceUp(device.InterfaceIndex, interfaceMtu);
            router.AddAddress(device.InterfaceIndex, ipv4);
            if (ipv6 is { } a6)
            {
                router.AddAddress(device.InterfaceIndex, a6);
            }

            _innerIPv6 = ipv6;
            ApplySteering(router, device.InterfaceIndex, policy, ipv6 is not null);
        }
        catch
        {
            router?.Dispose();
            await device.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _device = device;
        _router = router;
        _innerIPv4 = ipv4;
        _pumpStop = new CancellationTokenSource();
        _pump = Task.Run(() => PumpFromTunAsync(device, _pumpStop.Token));
        _expiry = Task.Run(() => ExpireLearnedLoopAsync(_pumpStop.Token));
        UpdateStatus(s => s with
        {
            Interface = device.Name,
            InnerIPv4 = ipv4.ToString(),
            InnerIPv6 = ipv6?.ToString(),
            SteeringMode = policy.Mode.ToString().ToLowerInvariant(),
        });
        await StartDnsAsync(session, device, policy, ct).ConfigureAwait(false);
    }

    private async Task ExpireLearnedLoopAsync(CancellationToken ct)
    {
        // Every 10 s, or twice per lifetime when that is shorter, so a route goes at most half a lifetime late.
        TimeSpan period = TimeSpan.FromMilliseconds(Math.Clamp(_options.LearnedRouteLifetime.TotalMilliseconds / 2, 250, 10_000));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    ExpireLearned();
                }
                catch (TunException ex)
                {
                    LogExpiryFailed(_logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
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
        await StopDnsAsync().ConfigureAwait(false);
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

            await (_expiry ?? Task.CompletedTask).ConfigureAwait(false);
            _pumpStop.Dispose();
            _pumpStop = null;
            _pump = null;
            _expiry = null;
        }

        lock (_steeringLock)
        {
            _router?.Dispose();
            _router = null;
            _learned.Clear();
            Volatile.Write(ref _policy, null);
        }

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

            TouchLearned(buffer.AsSpan(0, length));
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

    /// <summary>A packet from the TLS receive loop; held (merged with the next TCP segments) until the loop idles.</summary>
    private ValueTask WriteToTunFromTlsAsync(ReadOnlyMemory<byte> packet, CancellationToken ct) => WriteToTun(ref _tlsTunWriter, packet, ct);

    /// <summary>The TLS receive loop has nothing more to hand out: write what its writer holds.</summary>
    private ValueTask FlushTunFromTlsAsync(CancellationToken ct) => FlushTun(_tlsTunWriter, ct);

    /// <summary>
    /// Writes (or, merging TCP segments, holds) a packet through the receive loop's own writer, made anew when the
    /// device changed. Each loop flushes its writer before it waits for more input.
    /// </summary>
    private ValueTask WriteToTun(ref TunPacketWriter? slot, ReadOnlyMemory<byte> packet, CancellationToken ct)
    {
        ITunDevice? device = _device;
        if (device is null || IpPacket.GetVersion(packet.Span) == 0)
        {
            Interlocked.Increment(ref _droppedOutside);
            return ValueTask.CompletedTask;
        }

        TunPacketWriter? writer = slot;
        if (writer is null || writer.Device != device)
        {
            slot = writer = new TunPacketWriter(device);
        }

        return Completed(writer.WriteAsync(packet, ct));
    }

    private ValueTask FlushTun(TunPacketWriter? writer, CancellationToken ct)
        => writer is null || writer.Device != _device ? ValueTask.CompletedTask : Completed(writer.FlushAsync(ct));

    private ValueTask Completed(ValueTask write)
    {
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removing expired DNS-learned routes failed: {Error}")]
    private static partial void LogExpiryFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TUN read failed: {Error}")]
    private static partial void LogTunReadFailed(ILogger logger, string error);
}
