using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Lab;

/// <summary>
/// A tiny HTTP/1.1 server for the lab's internet namespace (<c>steer lab http-server</c>):
/// <list type="bullet">
/// <item><c>GET /whoami</c> answers <c>text/plain</c> "you are &lt;remote-ip&gt;\n", showing which source address
/// (e.g. the gateway's NAT address) the request came from;</item>
/// <item><c>GET /bytes?n=N</c> answers N bytes of a deterministic pattern (see <see cref="FillPattern"/>; N is capped
/// at <see cref="MaxBytes"/>), with the body's SHA-256 in <see cref="Sha256HeaderName"/> (hex) and in
/// <c>Repr-Digest</c>;</item>
/// <item><c>GET /</c> lists the endpoints. HEAD works too.</item>
/// </list>
/// Every response has <c>Connection: close</c>. Malformed requests get 400, never an exception.
/// </summary>
public sealed partial class WhoAmIServer : IAsyncDisposable
{
    /// <summary>The largest body <c>/bytes</c> sends: 1 GiB. A larger <c>n</c> is capped to this.</summary>
    public const long MaxBytes = 1L << 30;

    /// <summary>The header with the lowercase hex SHA-256 of the <c>/bytes</c> body.</summary>
    public const string Sha256HeaderName = "X-Content-SHA256";

    /// <summary>How many connections are served at once; more are closed at once.</summary>
    public const int MaxConnections = 256;

    private static readonly TimeSpan s_shutdownTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _connectionSlots = new(MaxConnections, MaxConnections);
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private long _nextConnectionId;
    private int _disposed;

    private WhoAmIServer(Socket listener, ILogger logger)
    {
        _listener = listener;
        _logger = logger;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        Completion = AcceptLoopAsync();
    }

    /// <summary>The address and port the server listens on (useful after binding port 0).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Completes when the accept loop has stopped (after <see cref="DisposeAsync"/>).</summary>
    public Task Completion { get; }

    /// <summary>
    /// Serves on <paramref name="bind"/>:<paramref name="port"/> until <paramref name="cancellationToken"/> is
    /// cancelled, then stops and returns normally.
    /// </summary>
    /// <param name="bind">The address to listen on, e.g. 198.18.2.2; <see cref="IPAddress.IPv6Any"/> serves IPv4 too.</param>
    /// <param name="port">The TCP port (0 picks a free one).</param>
    /// <param name="cancellationToken">Stops the server.</param>
    /// <returns>A task that completes when the server has stopped.</returns>
    /// <exception cref="LabException">The address and port cannot be listened on.</exception>
    public static Task RunAsync(IPAddress bind, int port, CancellationToken cancellationToken)
        => RunAsync(bind, port, logger: null, cancellationToken);

    /// <summary>
    /// Serves on <paramref name="bind"/>:<paramref name="port"/> until <paramref name="cancellationToken"/> is
    /// cancelled, then stops and returns normally. Logs "listening on …" (Information) once the socket listens.
    /// </summary>
    /// <param name="bind">The address to listen on, e.g. 198.18.2.2; <see cref="IPAddress.IPv6Any"/> serves IPv4 too.</param>
    /// <param name="port">The TCP port (0 picks a free one).</param>
    /// <param name="logger">Logs the listening address and, at Debug, each request.</param>
    /// <param name="cancellationToken">Stops the server.</param>
    /// <returns>A task that completes when the server has stopped.</returns>
    /// <exception cref="LabException">The address and port cannot be listened on.</exception>
    public static async Task RunAsync(IPAddress bind, int port, ILogger? logger, CancellationToken cancellationToken)
    {
        WhoAmIServer server = Start(bind, port, logger);
        await using (server.ConfigureAwait(false))
        {
            await server.Completion.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Listens on <paramref name="bind"/>:<paramref name="port"/> and starts serving in the background.</summary>
    /// <param name="bind">The address to listen on; <see cref="IPAddress.IPv6Any"/> serves IPv4 too.</param>
    /// <param name="port">The TCP port (0 picks a free one; see <see cref="LocalEndPoint"/>).</param>
    /// <param name="logger">Logs the listening address and, at Debug, each request.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    /// <exception cref="LabException">The address and port cannot be listened on.</exception>
    public static WhoAmIServer Start(IPAddress bind, int port, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(bind);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        logger ??= NullLogger.Instance;

        var listener = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (bind.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(bind, port));
            listener.Listen(512);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new LabException(
                string.Create(CultureInfo.InvariantCulture, $"cannot listen on {new IPEndPoint(bind, port)}: {ex.Message}"), ex);
        }

        var server = new WhoAmIServer(listener, logger);
        LabLog.HttpListening(logger, server.LocalEndPoint.ToString());
        return server;
    }

    /// <summary>Stops accepting, closes the open connections and waits (briefly) for them. Idempotent.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.WhenAll(_connections.Values).WaitAsync(s_shutdownTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return;
            }
            catch (SocketException ex)
            {
                // EMFILE and friends: back off instead of spinning.
                LabLog.HttpAcceptFailed(_logger, ex);
                await Task.Delay(TimeSpan.FromMilliseconds(100), stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            if (!_connectionSlots.Wait(0))
            {
                socket.Dispose();
                continue;
            }

            long id = Interlocked.Increment(ref _nextConnectionId);
            Task connection = ServeAndReleaseAsync(socket, stopping);
            _connections[id] = connection;

            // Registered after the add, so the entry is removed even when the connection finished first.
            _ = connection.ContinueWith(
                (_, state) => _connections.TryRemove((long)state!, out Task? _),
                id,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private async Task ServeAndReleaseAsync(Socket socket, CancellationToken stopping)
    {
        await Task.Yield();
        try
        {
            await ServeConnectionAsync(socket, stopping).ConfigureAwait(false);
        }
        finally
        {
            _connectionSlots.Release();
        }
    }
}
