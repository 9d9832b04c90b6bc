using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Lab;

/// <summary>
/// A user-space delay relay for labs and tests (there is no netem qdisc on the lab machines): listens for UDP and TCP
/// on one port, forwards to a target, and adds a one-way delay in each direction, changeable at run time.
/// </summary>
/// <remarks>
/// <para>
/// UDP: one session per client address and port, each with its own socket to the target, so answers find their
/// client. TCP: each accepted connection is spliced to a new connection to the target; the byte stream is delayed per
/// chunk, in order. The kernel completes the client's TCP handshake with the relay at once, so TCP connection set-up
/// itself is not delayed; everything sent over it is.
/// </para>
/// <para>
/// One scheduler thread with a priority queue releases everything (no timer per packet). Delays of one flow and
/// direction never reorder it: a lower delay set with <see cref="SetDelay(TimeSpan)"/> applies once the data queued
/// before has left. Queues are bounded: UDP drops beyond <see cref="DelayRelayOptions.MaxQueuedDatagrams"/>; TCP stops
/// reading (back-pressure) beyond <see cref="DelayRelayOptions.MaxQueuedChunksPerDirection"/>.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// await using DelayRelay relay = DelayRelay.Start(new DelayRelayOptions
/// {
///     ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
///     Target = gatewayEndPoint,
///     DelayToTarget = TimeSpan.FromMilliseconds(20),
///     DelayToClient = TimeSpan.FromMilliseconds(20),
/// });
/// // clients use relay.EndPoint: +40 ms round trip
/// relay.SetDelay(TimeSpan.FromMilliseconds(50));
/// </code>
/// </example>
public sealed partial class DelayRelay : IAsyncDisposable
{
    private static readonly TimeSpan s_maxDelay = TimeSpan.FromSeconds(60);
    private readonly DelayRelayOptions _options;
    private readonly ILogger _logger;
    private readonly DelayRelayScheduler _scheduler;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Socket? _udpListener;
    private readonly Socket? _tcpListener;
    private readonly Task _udpLoop = Task.CompletedTask;
    private readonly Task _tcpLoop = Task.CompletedTask;
    private readonly Task _reaper = Task.CompletedTask;
    private long _delayToTargetTicks;
    private long _delayToClientTicks;
    private long _packetsRelayed;
    private long _bytesRelayed;
    private long _packetsDropped;
    private int _disposed;

    private DelayRelay(DelayRelayOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        Target = options.Target!;
        Volatile.Write(ref _delayToTargetTicks, ToStopwatchTicks(options.DelayToTarget));
        Volatile.Write(ref _delayToClientTicks, ToStopwatchTicks(options.DelayToClient));
        (_tcpListener, _udpListener) = Bind(options);
        EndPoint = (IPEndPoint)(_tcpListener ?? _udpListener)!.LocalEndPoint!;
        _scheduler = new DelayRelayScheduler($"delay-relay {EndPoint.Port}");
        if (_udpListener is not null)
        {
            _udpLoop = Task.Run(() => RunUdpAsync(_udpListener, _stopping.Token));
            _reaper = Task.Run(() => ReapUdpSessionsAsync(_stopping.Token));
        }

        if (_tcpListener is not null)
        {
            _tcpLoop = Task.Run(() => RunTcpAsync(_tcpListener, _stopping.Token));
        }

        LogStarted(_logger, EndPoint, Target, options.DelayToTarget.TotalMilliseconds, options.DelayToClient.TotalMilliseconds);
    }

    /// <summary>The bound endpoint (UDP and TCP use the same port).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Where the relay forwards to.</summary>
    public IPEndPoint Target { get; }

    /// <summary>The current one-way delay towards the target.</summary>
    public TimeSpan DelayToTarget => FromStopwatchTicks(Volatile.Read(ref _delayToTargetTicks));

    /// <summary>The current one-way delay towards the client.</summary>
    public TimeSpan DelayToClient => FromStopwatchTicks(Volatile.Read(ref _delayToClientTicks));

    /// <summary>UDP datagrams and TCP chunks delivered after their delay, both directions.</summary>
    public long PacketsRelayed => Interlocked.Read(ref _packetsRelayed);

    /// <summary>Bytes delivered after their delay, both directions.</summary>
    public long BytesRelayed => Interlocked.Read(ref _bytesRelayed);

    /// <summary>UDP datagrams dropped: queue full, too many sessions, or a send that failed.</summary>
    public long PacketsDropped => Interlocked.Read(ref _packetsDropped);

    /// <summary>Starts a relay: binds at once (UDP and TCP on the same port) and relays until disposed.</summary>
    /// <param name="options">The options; <see cref="DelayRelayOptions.Target"/> is required.</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <returns>The running relay.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="SocketException">The port cannot be bound.</exception>
    public static DelayRelay Start(DelayRelayOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        return new DelayRelay(options, logger ?? NullLogger.Instance);
    }

    /// <summary>Sets the same one-way delay in both directions (the round trip grows by twice this).</summary>
    /// <param name="oneWay">The delay, 0 to 60 s.</param>
    public void SetDelay(TimeSpan oneWay) => SetDelay(oneWay, oneWay);

    /// <summary>Sets the one-way delay of each direction; it applies to data that arrives from now on.</summary>
    /// <param name="toTarget">The delay towards the target, 0 to 60 s.</param>
    /// <param name="toClient">The delay towards the client, 0 to 60 s.</param>
    public void SetDelay(TimeSpan toTarget, TimeSpan toClient)
    {
        ValidateDelay(toTarget, nameof(toTarget));
        ValidateDelay(toClient, nameof(toClient));
        Volatile.Write(ref _delayToTargetTicks, ToStopwatchTicks(toTarget));
        Volatile.Write(ref _delayToClientTicks, ToStopwatchTicks(toClient));
        LogDelayChanged(_logger, EndPoint, toTarget.TotalMilliseconds, toClient.TotalMilliseconds);
    }

    /// <summary>Stops relaying: closes the listeners, every session and connection, and drops what is still delayed.</summary>
    /// <returns>A task that completes when everything is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _udpListener?.Dispose();
        _tcpListener?.Dispose();
        CloseUdpSessions();
        Task connections = CloseTcpConnectionsAsync();
        await Task.WhenAll(_udpLoop, _tcpLoop, _reaper, connections).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _scheduler.Dispose();
        _stopping.Dispose();
        LogStopped(_logger, EndPoint);
    }

    internal static void ValidateDelay(TimeSpan delay, string argumentName)
    {
        if (delay < TimeSpan.Zero || delay > s_maxDelay)
        {
            throw new ArgumentOutOfRangeException(argumentName, delay, "A delay must be between 0 and 60 s.");
        }
    }

    /// <summary>The due time of data arriving now in a flow direction whose last item was due at <paramref name="lastDue"/>: never earlier (keeps order).</summary>
    private long DueTime(bool toTarget, ref long lastDue)
    {
        long due = Stopwatch.GetTimestamp() + Volatile.Read(ref toTarget ? ref _delayToTargetTicks : ref _delayToClientTicks);
        if (due < lastDue)
        {
            due = lastDue;
        }

        lastDue = due;
        return due;
    }

    private void CountRelayed(int bytes)
    {
        Interlocked.Increment(ref _packetsRelayed);
        Interlocked.Add(ref _bytesRelayed, bytes);
    }

    private static (Socket? Tcp, Socket? Udp) Bind(DelayRelayOptions options)
    {
        IPEndPoint listen = options.ListenEndPoint;
        for (int attempt = 0; ; attempt++)
        {
            Socket? tcp = null;
            Socket? udp = null;
            try
            {
                if (options.Tcp)
                {
                    tcp = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    tcp.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                    tcp.Bind(listen);
                    tcp.Listen(128);
                }

                if (options.Udp)
                {
                    udp = new Socket(listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                    udp.Bind(tcp is null ? listen : new IPEndPoint(listen.Address, ((IPEndPoint)tcp.LocalEndPoint!).Port));
                }

                return (tcp, udp);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && listen.Port == 0 && attempt < 20)
            {
                // The free TCP port is taken for UDP: try another.
                tcp?.Dispose();
                udp?.Dispose();
            }
            catch
            {
                tcp?.Dispose();
                udp?.Dispose();
                throw;
            }
        }
    }

    private static long ToStopwatchTicks(TimeSpan value) => (long)(value.TotalSeconds * Stopwatch.Frequency);

    private static TimeSpan FromStopwatchTicks(long ticks) => Stopwatch.GetElapsedTime(0, ticks);

    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "Delay relay {EndPoint} -> {Target} started: +{ToTargetMs} ms / +{ToClientMs} ms")]
    private static partial void LogStarted(ILogger logger, IPEndPoint endPoint, IPEndPoint target, double toTargetMs, double toClientMs);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Delay relay {EndPoint}: delay now +{ToTargetMs} ms / +{ToClientMs} ms")]
    private static partial void LogDelayChanged(ILogger logger, IPEndPoint endPoint, double toTargetMs, double toClientMs);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Delay relay {EndPoint} stopped")]
    private static partial void LogStopped(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Delay relay {EndPoint}: {Error}")]
    private static partial void LogError(ILogger logger, IPEndPoint endPoint, string error);
}
