using System.Net;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Tls;
using Steer.Protocol;
using Steer.Protocol.Dtls;

namespace Steer;

/// <summary>
/// The DTLS data channel beside the TLS session: opened after Welcome, used for data while healthy (something
/// heard within 2.5 s; keepalives every second), abandoned for TLS when not — without touching the session or the
/// TUN — and probed again after 20 s, then every 25 and 30 s, until it answers. The channel probes its path MTU in
/// band (docs/protocol.md §6): packets on DTLS are limited to the probed size, 1280 until the first probe is answered.
/// </summary>
public sealed partial class SteerClient
{
    private static readonly TimeSpan MaxDtlsRetry = TimeSpan.FromSeconds(30);

    private DtlsChannel? _dtls;
    private UdpDatagramTransport? _dtlsUdp;
    private bool _dataOnDtls;
    private long _previousDtlsSent;
    private long _previousGsoDatagrams;
    private long _previousGroDatagrams;

    /// <summary>Datagrams dropped by the DTLS record guards of every channel this client opened.</summary>
    private readonly DtlsRecordCounters _dtlsRecords = new();
    private long _previousDtlsReceived;
    private int? _reportedPathMtu;

    /// <summary>
    /// The largest packet the tunnel carries now; bigger ones read from the TUN are answered with ICMP "too big": while
    /// data goes over DTLS, the probed DTLS path MTU (never above the session MTU); on TLS, the session MTU.
    /// </summary>
    private int EffectiveTunnelMtu
    {
        get
        {
            DtlsChannel? dtls = Volatile.Read(ref _dtls);
            return dtls is not null && UsesDtls(dtls) ? Math.Min(_tunnelMtu, DtlsPacketLimit(dtls)) : _tunnelMtu;
        }
    }

    /// <summary>Data goes over DTLS while it is healthy and carries at least 1280-byte packets, or when forced.</summary>
    private bool UsesDtls(DtlsChannel dtls) => (dtls.IsHealthy && dtls.PathMtu > 0) || _options.Transport == SteerTransport.Dtls;

    /// <summary>The probed size; the base size when forced onto a path where even that is not confirmed.</summary>
    private static int DtlsPacketLimit(DtlsChannel dtls) => dtls.PathMtu > 0 ? dtls.PathMtu : PathMtuOptions.DefaultBaseMtu;

    private async Task RunDtlsAsync(Session session, CancellationToken ct)
    {
        if (_options.Transport == SteerTransport.Tls || session.Welcome.Dtls is not { } offer)
        {
            return;
        }

        IPAddress gateway = IPAddress.TryParse(session.Gateway.Address, out IPAddress? ip)
            ? ip
            : (await Dns.GetHostAddressesAsync(session.Gateway.Address, ct).ConfigureAwait(false))[0];
        TimeSpan retry = _options.DtlsRetryInterval;
        while (!ct.IsCancellationRequested)
        {
            DtlsChannel? channel = null;
            try
            {
                DtlsConnection dtls = await Task.Run(() => DtlsConnector.Open(gateway, offer, TimeSpan.FromSeconds(5), _protector.Protect, UdpBatchOptions.Default with { Logger = _logger }, _dtlsRecords), ct).ConfigureAwait(false);
                dtls.Udp.BeforeWait = FlushTunFromDtls;
                channel = new DtlsChannel(dtls.Transport, WriteToTunFromDtls, session.Welcome.Mtu, "dtls-client", _logger, dtls.Udp, guard: dtls.Udp.Guard);
                Volatile.Write(ref _dtls, channel);
                Volatile.Write(ref _dtlsUdp, dtls.Udp);
                LogDtlsUp(_logger, session.Gateway.Name, offer.Port);
                retry = _options.DtlsRetryInterval;
                long nextProbe = 0;
                int tick = 0;
                while (!ct.IsCancellationRequested && !channel.IsClosed)
                {
                    UpdateDataTransport();
                    ReportPathMtu(channel);
                    long now = Environment.TickCount64;
                    if (channel.IsHealthy)
                    {
                        if (tick++ % 4 == 0)
                        {
                            channel.SendKeepalive(); // every second
                        }

                        retry = _options.DtlsRetryInterval;
                        nextProbe = now + (long)retry.TotalMilliseconds;
                    }
                    else if (now >= nextProbe)
                    {
                        // Back-off while the path is down, instead of a tight retry loop.
                        channel.SendKeepalive();
                        LogDtlsProbe(_logger, retry.TotalSeconds);
                        nextProbe = now + (long)retry.TotalMilliseconds;
                        retry = Min(retry + TimeSpan.FromSeconds(5), MaxDtlsRetry);
                    }

                    // Data follows the channel's health packet by packet; this tick only puts the switch into the
                    // status (and sends keepalives), so a short one keeps the status at most 250 ms behind.
                    await Task.Delay(250, ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                LogDtlsFailed(_logger, ex.Message, retry.TotalSeconds);
                UpdateStatus(s => s with { LastError = $"DTLS unavailable ({ex.Message}); data over TLS" });
            }
            finally
            {
                if (channel is not null)
                {
                    Volatile.Write(ref _dtls, null);
                    if (Interlocked.Exchange(ref _dtlsUdp, null) is UdpDatagramTransport udp)
                    {
                        Interlocked.Add(ref _previousGsoDatagrams, udp.SendBatch.GsoSegments);
                        Interlocked.Add(ref _previousGroDatagrams, udp.ReceiveBatch.GroSegments);
                    }

                    Interlocked.Add(ref _previousDtlsSent, channel.Counters.PacketsSent);
                    Interlocked.Add(ref _previousDtlsReceived, channel.Counters.PacketsReceived);
                    Interlocked.Add(ref _previousBytesSent, channel.Counters.BytesSent);
                    Interlocked.Add(ref _previousBytesReceived, channel.Counters.BytesReceived);
                    Interlocked.Add(ref _droppedOutside, channel.Counters.PacketsDropped);
                    channel.Dispose();
                    UpdateDataTransport();
                    ReportPathMtu(null);
                }
            }

            try
            {
                await Task.Delay(Jitter(retry), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            retry = Min(retry + TimeSpan.FromSeconds(5), MaxDtlsRetry);
        }
    }

    /// <summary>Where data goes now; counts and reports a change.</summary>
    private void UpdateDataTransport()
    {
        DtlsChannel? dtls = Volatile.Read(ref _dtls);
        bool onDtls = dtls is not null && UsesDtls(dtls);
        if (onDtls == _dataOnDtls)
        {
            return;
        }

        _dataOnDtls = onDtls;
        LogTransportChanged(_logger, onDtls ? "dtls" : "tls", dtls?.SilentMillis ?? -1);
        UpdateStatus(s => s with { Transport = onDtls ? "dtls" : "tls", TransportSwitches = s.TransportSwitches + 1 });
    }

    /// <summary>
    /// Sends a packet from the TUN: DTLS while it is healthy (or forced), TLS otherwise — and TLS for a packet above the
    /// DTLS path MTU (the pump answers those with "too big"; this catches the moment the path MTU just dropped).
    /// </summary>
    private void SendToTunnel(TunnelConnection connection, ReadOnlySpan<byte> packet)
    {
        DtlsChannel? dtls = Volatile.Read(ref _dtls);
        if (dtls is not null && UsesDtls(dtls) && packet.Length <= DtlsPacketLimit(dtls))
        {
            dtls.TrySendPacket(packet);
            return;
        }

        connection.TrySendPacket(packet);
    }

    /// <summary>
    /// A packet from the DTLS receive thread, held (merged with the next TCP segments) until the datagrams of the
    /// current receive batch are used up (<see cref="FlushTunFromDtls"/>); the TUN write normally completes
    /// synchronously.
    /// </summary>
    private void WriteToTunFromDtls(ReadOnlyMemory<byte> packet) => Wait(WriteToTun(ref _dtlsTunWriter, packet, CancellationToken.None));

    /// <summary>The DTLS socket is about to wait: write what the DTLS receive thread's writer holds.</summary>
    private void FlushTunFromDtls() => Wait(FlushTun(_dtlsTunWriter, CancellationToken.None));

    /// <summary>Waits on the DTLS receive thread for a TUN write that did not complete at once (kernel queue full).</summary>
    private static void Wait(ValueTask write)
    {
        if (!write.IsCompletedSuccessfully)
        {
            write.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Puts the probed DTLS path MTU (or null without a DTLS channel) into the status when it changed.</summary>
    private void ReportPathMtu(DtlsChannel? channel)
    {
        int? mtu = channel?.PathMtu;
        if (mtu == _reportedPathMtu)
        {
            return;
        }

        _reportedPathMtu = mtu;
        if (mtu is int value)
        {
            LogPathMtu(_logger, value, channel!.PathMtuProber.Phase.ToString().ToLowerInvariant());
        }

        UpdateStatus(s => s with { PathMtu = mtu });
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Jitter(TimeSpan delay) => delay * (0.9 + (Random.Shared.NextDouble() * 0.2));

    [LoggerMessage(Level = LogLevel.Information, Message = "DTLS data channel up with {Gateway} (UDP {Port})")]
    private static partial void LogDtlsUp(ILogger logger, string gateway, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "DTLS not available: {Error}; data stays on TLS, next try in {RetrySeconds:0} s")]
    private static partial void LogDtlsFailed(ILogger logger, string error, double retrySeconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DTLS silent; probing, next probe in {RetrySeconds:0} s")]
    private static partial void LogDtlsProbe(ILogger logger, double retrySeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "DTLS path MTU now {PathMtu} ({Phase}); larger packets get ICMP \"too big\" while data is on DTLS")]
    private static partial void LogPathMtu(ILogger logger, int pathMtu, string phase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Data now over {Transport} (DTLS silent for {SilentMs} ms)")]
    private static partial void LogTransportChanged(ILogger logger, string transport, long silentMs);
}
