using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Policy;

namespace Steer.DnsStub;

/// <summary>
/// A local DNS stub resolver: listens on UDP and TCP, sends each query to the tunnel upstream or the direct upstream
/// as the domain rules say, lets a callback act on the answered addresses (install host routes) and only then replies.
/// </summary>
/// <remarks>
/// Queries are relayed byte for byte (EDNS(0) options, DNSSEC bits and all): only the message id is replaced on the
/// way up, by a random one on a fresh socket (random source port), and restored on the way back. An upstream UDP answer
/// with TC set is asked again over TCP, so the callback always sees every address; an answer larger than the client's
/// UDP size is returned truncated, and the client asks again over TCP. Malformed datagrams are counted and ignored.
/// </remarks>
public sealed partial class DnsStubResolver : IAsyncDisposable
{
    private const int MaxTcpConnections = 128;

    private readonly DnsStubResolverOptions _options;
    private readonly IPEndPoint _tunnelUpstream;
    private readonly IPEndPoint _directUpstream;
    private readonly ILogger _logger;
    private readonly Socket _udp;
    private readonly Socket? _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots;
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;
    private int _disposed;
    private int _tcpConnections;

    private long _queries;
    private long _tcpQueries;
    private long _malformed;
    private long _dropped;
    private long _steered;
    private long _direct;
    private long _upstreamTimeouts;
    private long _upstreamFailures;
    private long _upstreamTcpRetries;
    private long _truncatedReplies;
    private long _callbackFailures;

    private DnsStubResolver(DnsStubResolverOptions options, ILogger logger, Socket udp, Socket? tcp)
    {
        _options = options;
        _tunnelUpstream = options.TunnelUpstream!;
        _directUpstream = options.DirectUpstream!;
        _logger = logger;
        _udp = udp;
        _tcp = tcp;
        _slots = new SemaphoreSlim(options.MaxConcurrentQueries, options.MaxConcurrentQueries);
        LocalEndPoint = (IPEndPoint)udp.LocalEndPoint!;
        _udpLoop = Task.Run(ReceiveUdpAsync);
        _tcpLoop = tcp is null ? Task.CompletedTask : Task.Run(AcceptTcpAsync);
    }

    /// <summary>The UDP (and TCP) endpoint the stub listens on, with the port it got when 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>A snapshot of the counters.</summary>
    public DnsStubStatistics Statistics => new(
        Volatile.Read(ref _queries),
        Volatile.Read(ref _tcpQueries),
        Volatile.Read(ref _malformed),
        Volatile.Read(ref _dropped),
        Volatile.Read(ref _steered),
        Volatile.Read(ref _direct),
        Volatile.Read(ref _upstreamTimeouts),
        Volatile.Read(ref _upstreamFailures),
        Volatile.Read(ref _upstreamTcpRetries),
        Volatile.Read(ref _truncatedReplies),
        Volatile.Read(ref _callbackFailures));

    /// <summary>Binds the listening sockets and starts serving.</summary>
    /// <param name="options">The options; read once.</param>
    /// <param name="loggerFactory">For the stub's logs; none by default.</param>
    /// <param name="cancellationToken">Cancels the start (binding is immediate).</param>
    /// <returns>The running stub; dispose it to stop.</returns>
    /// <exception cref="SocketException">The endpoint cannot be bound (in use, or port 53 without privileges).</exception>
    public static ValueTask<DnsStubResolver> StartAsync(DnsStubResolverOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        cancellationToken.ThrowIfCancellationRequested();
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<DnsStubResolver>();

        IPEndPoint endPoint = options.ListenEndPoint;
        for (int attempt = 0; ; attempt++)
        {
            var udp = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            Socket? tcp = null;
            try
            {
                udp.Bind(endPoint);
                if (options.ListenOnTcp)
                {
                    int port = ((IPEndPoint)udp.LocalEndPoint!).Port;
                    tcp = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    tcp.Bind(new IPEndPoint(endPoint.Address, port));
                    tcp.Listen(64);
                }

                var stub = new DnsStubResolver(options, logger, udp, tcp);
                LogStarted(logger, stub.LocalEndPoint, options.TunnelUpstream!, options.DirectUpstream!);
                return ValueTask.FromResult(stub);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && endPoint.Port == 0 && attempt < 8)
            {
                // The UDP port picked for us is taken on TCP: pick another.
                udp.Dispose();
                tcp?.Dispose();
            }
            catch
            {
                udp.Dispose();
                tcp?.Dispose();
                throw;
            }
        }
    }

    /// <summary>Stops listening and waits briefly for queries in progress.</summary>
    /// <returns>A task that completes when the stub has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _udp.Dispose();
        _tcp?.Dispose();
        try
        {
            await Task.WhenAll(_udpLoop, _tcpLoop).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        // Wait for the handlers still running: each holds a slot.
        for (int i = 0; i < 500 && _slots.CurrentCount < _options.MaxConcurrentQueries; i++)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    /// <summary>Decides which upstream resolves a name and which domain rule said so (null: the default).</summary>
    internal (PolicyAction Upstream, PolicyRule? Rule) Classify(string name) =>
        _options.Matcher.TryDecideResolution(name, out PolicyRule rule)
            ? (rule.Action, rule)
            : (_options.UnmatchedNames, null);

    /// <summary>
    /// Answers one query: null when the message is to be ignored (malformed, or not a query), otherwise the reply.
    /// </summary>
    internal async Task<byte[]?> ResolveAsync(ReadOnlyMemory<byte> query, bool overTcp, CancellationToken cancellationToken)
    {
        if (!DnsMessage.TryParse(query.Span, out DnsMessage? message, out string error) || message.IsResponse)
        {
            Interlocked.Increment(ref _malformed);
            LogMalformed(_logger, message is null ? error : "a response, not a query");
            return null;
        }

        if (message.Opcode != 0)
        {
            return message.CreateResponse(DnsResponseCode.NotImplemented).ToArray();
        }

        if (message.Questions.Count != 1)
        {
            return message.CreateResponse(DnsResponseCode.FormatError).ToArray();
        }

        DnsQuestion question = message.Questions[0];
        (PolicyAction route, PolicyRule? rule) = Classify(question.Name);
        Interlocked.Increment(ref route == PolicyAction.Tunnel ? ref _steered : ref _direct);
        IPEndPoint upstream = route == PolicyAction.Tunnel ? _tunnelUpstream : _directUpstream;

        (byte[] Raw, DnsMessage Parsed)? answer = await ForwardAsync(query, question, route, upstream, cancellationToken).ConfigureAwait(false);
        if (answer is not { } found)
        {
            Interlocked.Increment(ref _upstreamFailures);
            LogUpstreamFailed(_logger, question.Name, upstream);
            return message.CreateResponse(DnsResponseCode.ServerFailure).ToArray();
        }

        byte[] raw = found.Raw;
        DnsMessage response = found.Parsed;
        BinaryPrimitives.WriteUInt16BigEndian(raw, message.Id);

        Func<DnsResolvedAddresses, CancellationToken, ValueTask>? callback =
            route == PolicyAction.Tunnel ? _options.OnSteeredAnswer : rule is null ? null : _options.OnExcludedAnswer;
        if (callback is not null)
        {
            IReadOnlyList<(IPAddress Address, TimeSpan Ttl)> addresses = response.GetAnswerAddresses();
            if (addresses.Count > 0)
            {
                var resolved = new DnsResolvedAddresses(question.Name, question.Type, route, rule, addresses);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.CallbackTimeout);
                try
                {
                    await callback(resolved, timeout.Token).AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _callbackFailures);
                    LogCallbackFailed(_logger, question.Name, ex);
                    return message.CreateResponse(DnsResponseCode.ServerFailure).ToArray();
                }
            }
        }

        if (!overTcp && raw.Length > message.MaxUdpResponseSize)
        {
            Interlocked.Increment(ref _truncatedReplies);
            var truncated = new DnsMessage { Id = message.Id, Flags = response.Flags, IsTruncated = true };
            truncated.Questions.AddRange(response.Questions);
            if (response.Edns is { } opt)
            {
                truncated.Additionals.Add(opt);
            }

            return truncated.ToArray();
        }

        return raw;
    }

    private async Task ReceiveUdpAsync()
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(DnsMessage.MaxSize);
        EndPoint any = new IPEndPoint(_udp.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, any, stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex)
            {
                LogReceiveFailed(_logger, ex.SocketErrorCode);
                continue;
            }

            Interlocked.Increment(ref _queries);
            if (!_slots.Wait(0))
            {
                Interlocked.Increment(ref _dropped);
                continue;
            }

            int length = result.ReceivedBytes;
            byte[] query = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            buffer.AsSpan(0, length).CopyTo(query);
            _ = HandleUdpAsync(query, length, result.RemoteEndPoint, stop);
        }
    }

    private async Task HandleUdpAsync(byte[] query, int length, EndPoint client, CancellationToken stop)
    {
        try
        {
            byte[]? reply = await ResolveAsync(query.AsMemory(0, length), overTcp: false, stop).ConfigureAwait(false);
            if (reply is not null)
            {
                await _udp.SendToAsync(reply, SocketFlags.None, client, stop).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
        }
        catch (Exception ex)
        {
            LogHandlerFailed(_logger, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(query);
            _slots.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "DNS stub listening on {EndPoint}; tunnel upstream {Tunnel}, direct upstream {Direct}")]
    private static partial void LogStarted(ILogger logger, IPEndPoint endPoint, IPEndPoint tunnel, IPEndPoint direct);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DNS stub ignored a malformed message: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DNS stub: no answer for {Name} from {Upstream}; answered SERVFAIL")]
    private static partial void LogUpstreamFailed(ILogger logger, string name, IPEndPoint upstream);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DNS stub: the answer callback for {Name} failed; answered SERVFAIL")]
    private static partial void LogCallbackFailed(ILogger logger, string name, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DNS stub: UDP receive failed: {Error}")]
    private static partial void LogReceiveFailed(ILogger logger, SocketError error);

    [LoggerMessage(Level = LogLevel.Error, Message = "DNS stub: a query handler failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
