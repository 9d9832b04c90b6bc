using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using Steer.Configuration;
using Steer.Protocol;
using Steer.Security;
using Steer.Tun;

namespace Steer;

/// <summary>
/// Steer's client: connects to a tenant's gateway over a pinned TLS tunnel, creates the TUN interface with the
/// addresses the gateway assigns, steers the configured destinations into it, and keeps the tunnel up
/// (reconnecting with back-off while the interface and routes stay in place). Disposing restores the host.
/// </summary>
/// <example>
/// <code>
/// await using var client = new SteerClient(new SteerClientOptions { Configuration = config, Token = token, DeviceId = id }, logger);
/// client.StatusChanged += (_, s) => Console.WriteLine(s.State);
/// await client.StartAsync(ct);   // returns once the tunnel is up; throws on fatal errors
/// await client.Completion;       // until StopAsync or a fatal error
/// </code>
/// </example>
public sealed partial class SteerClient : IAsyncDisposable
{
    /// <summary>The client a connect attempt runs for, in the shared retry pipeline's context.</summary>
    private static readonly ResiliencePropertyKey<SteerClient> s_clientKey = new("steer.client");

    /// <summary>Connect retry pipelines, one per <see cref="SteerClientOptions.MaxReconnectDelay"/>, shared by all clients.</summary>
    private static readonly ConcurrentDictionary<TimeSpan, Lazy<ResiliencePipeline>> s_connectPipelines = new();

    private readonly SteerClientOptions _options;
    private readonly TenantConfiguration _config;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _connectPipeline;
    private readonly Lock _statusLock = new();
    private SteerStatus _status;
    private CancellationTokenSource? _stop;
    private Task? _run;
    private TunnelConnection? _connection;
    private long _previousPacketsSent;
    private long _previousBytesSent;
    private long _previousPacketsReceived;
    private long _previousBytesReceived;
    private long _droppedOutside;
    private readonly SocketProtectorOptions _protectorOptions;
    private readonly ISocketProtector _protector;
    private long _startTimestamp;

    /// <summary>Creates a client; nothing happens until <see cref="StartAsync"/>.</summary>
    /// <exception cref="ArgumentException">An option is missing or invalid; the message names it.</exception>
    public SteerClient(SteerClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _config = options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _status = new SteerStatus { State = SteerState.Stopped, Tenant = _config.Tenant };
        _protectorOptions = new SocketProtectorOptions { FirewallMark = options.FirewallMark };
        _protector = SocketProtector.Create(_protectorOptions, _logger);
        _connectPipeline = GetConnectPipeline(options.MaxReconnectDelay);
    }

    /// <summary>
    /// Optional: does the one-time set-up of the first client in this process now, on a thread-pool thread, so that a
    /// host can overlap it with loading the tenant configuration: building the reconnect policy, and a first
    /// datacenter circuit breaker (Polly validates their options by reflection the first time: about 10 ms of the start
    /// with NativeAOT). Clients with the default <see cref="SteerClientOptions.MaxReconnectDelay"/> then find the policy
    /// ready. Calling it is never required.
    /// </summary>
    /// <returns>A task that completes when the set-up is done.</returns>
    public static Task PrepareAsync() => Task.Run(static () =>
    {
        GetConnectPipeline(new SteerClientOptions().MaxReconnectDelay);
        new Selection.GatewayHealthRegistry().Get("prepare");
    });

    /// <summary>
    /// The reconnect policy: exponential back-off with jitter from 0.5 s up to <paramref name="maxDelay"/>, forever, for
    /// every error that is not permanent. Built once per delay and shared: the client is passed in the context.
    /// </summary>
    private static ResiliencePipeline GetConnectPipeline(TimeSpan maxDelay) => s_connectPipelines.GetOrAdd(
        maxDelay,
        static delay => new Lazy<ResiliencePipeline>(() => new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => !IsPermanent(ex) && ex is not OperationCanceledException),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = delay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = static args =>
                {
                    if (args.Context.Properties.TryGetValue(s_clientKey, out SteerClient? client))
                    {
                        string error = args.Outcome.Exception?.Message ?? "unknown error";
                        LogRetry(client._logger, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds, error);
                        client.UpdateStatus(s => s with { LastError = error });
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build())).Value;

    /// <summary>Raised after every state change (from a background thread). Counters are current at that moment.</summary>
    public event EventHandler<SteerStatus>? StatusChanged;

    /// <summary>The current status, with up-to-date counters.</summary>
    public SteerStatus Status
    {
        get
        {
            SteerStatus status;
            lock (_statusLock)
            {
                status = _status;
            }

            TunnelCounters? current = Volatile.Read(ref _connection)?.Counters;
            TunnelCounters? dtls = Volatile.Read(ref _dtls)?.Counters;
            long dtlsSent = Interlocked.Read(ref _previousDtlsSent) + (dtls?.PacketsSent ?? 0);
            long dtlsReceived = Interlocked.Read(ref _previousDtlsReceived) + (dtls?.PacketsReceived ?? 0);
            Protocol.Dtls.UdpDatagramTransport? udp = Volatile.Read(ref _dtlsUdp);
            return status with
            {
                PacketsSent = Interlocked.Read(ref _previousPacketsSent) + (current?.PacketsSent ?? 0) + dtlsSent,
                BytesSent = Interlocked.Read(ref _previousBytesSent) + (current?.BytesSent ?? 0) + (dtls?.BytesSent ?? 0),
                PacketsReceived = Interlocked.Read(ref _previousPacketsReceived) + (current?.PacketsReceived ?? 0) + dtlsReceived,
                BytesReceived = Interlocked.Read(ref _previousBytesReceived) + (current?.BytesReceived ?? 0) + (dtls?.BytesReceived ?? 0),
                PacketsDropped = Interlocked.Read(ref _droppedOutside) + (current?.PacketsDropped ?? 0) + (dtls?.PacketsDropped ?? 0),
                DtlsPacketsSent = dtlsSent,
                PacketsTooBig = Interlocked.Read(ref _tooBig),
                DtlsPacketsReceived = dtlsReceived,
                TunMergedPackets = (Volatile.Read(ref _tlsTunWriter)?.MergedSegments ?? 0) + (Volatile.Read(ref _dtlsTunWriter)?.MergedSegments ?? 0),
                DtlsGsoDatagrams = Interlocked.Read(ref _previousGsoDatagrams) + (udp?.SendBatch.GsoSegments ?? 0),
                DtlsGroDatagrams = Interlocked.Read(ref _previousGroDatagrams) + (udp?.ReceiveBatch.GroSegments ?? 0),
                DtlsGarbageDropped = _dtlsRecords.GarbageDropped,
                DtlsReplayedDropped = _dtlsRecords.ReplayedDropped,
                DtlsRejectedDropped = _dtlsRecords.RejectedDropped,
                DnsQueriesSteered = Interlocked.Read(ref _previousDnsSteered) + (_dnsStub?.Statistics.Steered ?? 0),
                DnsQueriesDirect = Interlocked.Read(ref _previousDnsDirect) + (_dnsStub?.Statistics.Direct ?? 0),
                LearnedAddresses = _learned.Count,
            };
        }
    }

    /// <summary>Completes when the client has stopped: normally after <see cref="StopAsync"/>, faulted after a fatal error.</summary>
    public Task Completion => _run ?? Task.CompletedTask;

    /// <summary>
    /// Connects, creates the interface and routes, and returns once traffic can flow. Transient failures
    /// (gateway unreachable, connection reset) are retried with exponential back-off until
    /// <paramref name="cancellationToken"/> fires; fatal ones throw.
    /// </summary>
    /// <exception cref="PinMismatchException">The gateway's key does not match the tenant's pins.</exception>
    /// <exception cref="PeerErrorException">The gateway refused the client for good (e.g. a bad token).</exception>
    /// <exception cref="TunException">The TUN device or routes could not be set up (e.g. missing privileges).</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_run is not null)
        {
            throw new InvalidOperationException("This SteerClient was already started; create a new one to start again.");
        }

        // What a killed predecessor left (DNS file, journalled routes and rules) goes back before anything changes.
        _startTimestamp = Stopwatch.GetTimestamp();
        int undone = RecoverLeftovers(_options, _logger);
        if (undone > 0)
        {
            LogRecovered(_logger, undone);
        }

        LogStartPhase(_logger, "leftovers of an earlier run checked", SinceStartMs);

        _stop = new CancellationTokenSource();
        var firstConnection = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _run = Task.Run(() => SuperviseAsync(firstConnection, _stop.Token), CancellationToken.None);
        using CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _stop);
        try
        {
            await firstConnection.Task.ConfigureAwait(false);
        }
        catch
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the tunnel and removes the interface and every route Steer added.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stop is null || _run is null)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A fatal error is reported through Completion and Status; stopping itself succeeded.
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop?.Dispose();
    }

    private static bool IsPermanent(Exception ex) => ex switch
    {
        PinMismatchException => true,
        PeerErrorException peer => peer.IsPermanent,
        TunException => true,
        _ => false,
    };

    private async Task SuperviseAsync(TaskCompletionSource firstConnection, CancellationToken ct)
    {
        SetState(SteerState.Connecting);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                Session session = await ConnectWithRetryAsync(ct).ConfigureAwait(false);
                await using (session.Connection.ConfigureAwait(false))
                {
                    bool first = !firstConnection.Task.IsCompleted;
                    if (first)
                    {
                        LogStartPhase(_logger, $"tunnel to {session.Gateway.Name} up (TLS + handshake done)", SinceStartMs);
                    }

                    // The tunnel takes packets before the interface's routes and DNS are complete: what the pump reads
                    // meanwhile is queued (and sent once the session runs) instead of dropped, so a connection opened
                    // during the start does not lose its first SYN to a 1 s retransmission timeout.
                    Volatile.Write(ref _connection, session.Connection);
                    try
                    {
                        await EnsureInterfaceAsync(session, ct).ConfigureAwait(false);
                    }
                    catch
                    {
                        Volatile.Write(ref _connection, null);
                        throw;
                    }

                    if (first)
                    {
                        LogStartPhase(_logger, "interface, addresses, routes, rules and DNS ready", SinceStartMs);
                    }

                    UpdateStatus(s => s with
                    {
                        State = SteerState.Connected,
                        Gateway = session.Gateway.Name,
                        GatewayEndpoint = $"{session.Gateway.Address}:{session.Gateway.Port}",
                        GatewayReason = _selectionReason,
                        Transport = "tls",
                        SessionId = session.Welcome.SessionId,
                        DnsServers = session.Welcome.DnsServers,
                        Mtu = session.Welcome.Mtu,
                        ConnectedSince = DateTimeOffset.UtcNow,
                        LastError = null,
                    });
                    LogConnected(_logger, session.Gateway.Name, session.Welcome.Ipv4, session.Welcome.Ipv6 ?? "-", _device!.Name);
                    firstConnection.TrySetResult();
                    string reason;
                    using var dtlsStop = new CancellationTokenSource();
                    Task dtls = RunDtlsAsync(session, dtlsStop.Token);
                    Task reprobe = ReprobeWhileConnectedAsync(session, dtlsStop.Token);
                    try
                    {
                        // Stopping sends Close first, so the gateway frees the session at once.
                        using CancellationTokenRegistration closeOnStop = ct.UnsafeRegister(
                            static c => _ = ((TunnelConnection)c!).CloseAsync("client stopping").AsTask(), session.Connection);
                        await session.Connection.RunAsync(WriteToTunFromTlsAsync, FlushTunFromTlsAsync, CancellationToken.None).ConfigureAwait(false);
                        reason = session.Connection.CloseReason ?? "closed";
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested)
                    {
                        reason = ex.Message;
                    }

                    await dtlsStop.CancelAsync().ConfigureAwait(false);
                    await dtls.ConfigureAwait(false);
                    try
                    {
                        await reprobe.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    Volatile.Write(ref _connection, null);
                    AccumulateCounters(session.Connection.Counters);
                    if (ct.IsCancellationRequested)
                    {
                        break;
                    }

                    LogTunnelLost(_logger, reason);
                    if (_preferredGateway is null)
                    {
                        // Lost, not moved on purpose: try the others first, and count it against this datacenter.
                        _failedGateway = session.Gateway.Name;
                        _health.Get(session.Gateway.Name).RecordFailure(reason);
                    }

                    UpdateStatus(s => s with { State = SteerState.Reconnecting, Reconnects = s.Reconnects + 1, LastError = reason, ConnectedSince = null });
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            firstConnection.TrySetCanceled(ct);
        }
        catch (Exception ex)
        {
            LogFatal(_logger, ex.Message);
            UpdateStatus(s => s with { State = SteerState.Failed, LastError = ex.Message });
            firstConnection.TrySetException(ex);
            await TeardownInterfaceAsync().ConfigureAwait(false);
            throw;
        }

        await TeardownInterfaceAsync().ConfigureAwait(false);
        UpdateStatus(s => s with { State = SteerState.Stopped, ConnectedSince = null });
    }

    /// <summary>Connects to a gateway through the reconnect policy (<see cref="GetConnectPipeline"/>).</summary>
    private async Task<Session> ConnectWithRetryAsync(CancellationToken ct)
    {
        ResilienceContext context = ResilienceContextPool.Shared.Get(ct);
        context.Properties.Set(s_clientKey, this);
        try
        {
            return await _connectPipeline.ExecuteAsync(
                static (ctx, client) => client.ConnectAnyGatewayAsync(ctx.CancellationToken), context, this).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async ValueTask<Session> ConnectAnyGatewayAsync(CancellationToken ct)
    {
        Exception? last = null;
        PinMismatchException? wrongPin = null;
        IReadOnlyList<GatewayEndpoint> plan = await PlanConnectAsync(ct).ConfigureAwait(false);
        foreach (GatewayEndpoint gateway in plan)
        {
            try
            {
                var hello = new ClientHello
                {
                    Tenant = _config.Tenant,
                    Token = _options.Token!,
                    DeviceId = _options.DeviceId!,
                    ClientVersion = typeof(SteerClient).Assembly.GetName().Version?.ToString(),
                    RequestedIpv4 = _innerIPv4?.Address.ToString(),
                    RequestedIpv6 = _innerIPv6?.Address.ToString(),
                };
                long connectStart = Stopwatch.GetTimestamp();
                var (stream, reader, welcome) = await TunnelConnector
                    .ConnectAsync(gateway, hello, _options.ConnectTimeout, _logger, _protector.Protect, ct).ConfigureAwait(false);
                LogGatewayConnected(_logger, gateway.Name, Stopwatch.GetElapsedTime(connectStart).TotalMilliseconds);
                TimeSpan keepalive = TimeSpan.FromSeconds(Math.Clamp(welcome.KeepaliveSeconds, 1, 300));
                var connection = new TunnelConnection(stream, reader, welcome.Mtu, keepalive, _options.SendQueueCapacity, _logger);
                _health.Get(gateway.Name).RecordSuccess();
                _currentGateway = gateway.Name;
                _failedGateway = null;
                return new Session(gateway, welcome, connection);
            }
            catch (PinMismatchException ex) when (plan.Count > 1)
            {
                // One datacenter with a wrong key is ruled out; the others may be fine.
                LogGatewayFailed(_logger, gateway.Name, ex.Message);
                await _health.Get(gateway.Name).IsolateAsync(ex.Message, ct).ConfigureAwait(false);
                wrongPin ??= ex;
            }
            catch (Exception ex) when (!IsPermanent(ex) && ex is not OperationCanceledException)
            {
                LogGatewayFailed(_logger, gateway.Name, ex.Message);
                _health.Get(gateway.Name).RecordFailure(ex.Message);
                last = ex;
            }
        }

        throw last ?? wrongPin ?? (Exception)new InvalidOperationException("No gateway to connect to.");
    }

    /// <summary>Milliseconds since <see cref="StartAsync"/> began (for the start-up timings logged at debug level).</summary>
    private double SinceStartMs => Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds;

    private void AccumulateCounters(TunnelCounters counters)
    {
        Interlocked.Add(ref _previousPacketsSent, counters.PacketsSent);
        Interlocked.Add(ref _previousBytesSent, counters.BytesSent);
        Interlocked.Add(ref _previousPacketsReceived, counters.PacketsReceived);
        Interlocked.Add(ref _previousBytesReceived, counters.BytesReceived);
        Interlocked.Add(ref _droppedOutside, counters.PacketsDropped);
    }

    private void SetState(SteerState state) => UpdateStatus(s => s with { State = state });

    private void UpdateStatus(Func<SteerStatus, SteerStatus> change)
    {
        SteerState before;
        SteerState after;
        lock (_statusLock)
        {
            before = _status.State;
            _status = change(_status);
            after = _status.State;
        }

        if (before != after || after == SteerState.Connected)
        {
            StatusChanged?.Invoke(this, Status);
        }
    }

    private sealed record Session(GatewayEndpoint Gateway, ServerWelcome Welcome, TunnelConnection Connection);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to gateway {Gateway}: inner {IPv4} {IPv6} on {Interface}")]
    private static partial void LogConnected(ILogger logger, string gateway, string ipv4, string ipv6, string @interface);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tunnel lost: {Reason}; reconnecting, interface and routes stay in place")]
    private static partial void LogTunnelLost(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway {Gateway} failed: {Error}")]
    private static partial void LogGatewayFailed(ILogger logger, string gateway, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connect attempt {Attempt} failed; next in {DelaySeconds:0.0} s: {Error}")]
    private static partial void LogRetry(ILogger logger, int attempt, double delaySeconds, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Undid {Count} change(s) left by a Steer process that did not stop cleanly")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Start: {Phase} at +{SinceStartMs:0.0} ms after StartAsync")]
    private static partial void LogStartPhase(ILogger logger, string phase, double sinceStartMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Gateway {Gateway}: TCP + TLS + Hello/Welcome in {ElapsedMs:0.0} ms")]
    private static partial void LogGatewayConnected(ILogger logger, string gateway, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stopping: {Error}")]
    private static partial void LogFatal(ILogger logger, string error);
}
