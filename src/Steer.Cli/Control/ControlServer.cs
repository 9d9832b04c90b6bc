using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Steer.Cli.Control;

/// <summary>
/// The local control socket of a running <c>steer up</c> or <c>steer gateway</c>: a Unix socket in a root-only
/// folder (0700) with mode 0600. One request line in (<c>status</c> or <c>down</c>), one JSON line out.
/// </summary>
internal sealed partial class ControlServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _path;
    private readonly Func<string, string?> _handler;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    private ControlServer(Socket listener, string path, Func<string, string?> handler, ILogger logger)
    {
        _listener = listener;
        _path = path;
        _handler = handler;
        _logger = logger;
        _accept = AcceptLoopAsync();
    }

    /// <summary>Binds the socket. <paramref name="handler"/> maps a command to a JSON answer, or null for "unknown".</summary>
    public static ControlServer Start(string path, Func<string, string?> handler, ILogger logger)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        if (File.Exists(path))
        {
            // Another steer may still own it: refuse rather than steal its socket.
            if (ControlClient.IsAlive(path))
            {
                throw new InvalidOperationException($"Another steer process is already running with control socket {path}. Stop it with 'steer down' or pick another --control-socket.");
            }

            File.Delete(path);
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        listener.Listen(8);
        return new ControlServer(listener, path, handler, logger);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _accept.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await using var stream = new NetworkStream(client, ownsSocket: false);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                string command = (await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false) ?? "").Trim();
                string answer = _handler(command) ?? $"{{\"error\":\"unknown command '{command.Replace("\"", "", StringComparison.Ordinal)}'; known: status, down\"}}";
                await stream.WriteAsync(Encoding.UTF8.GetBytes(answer + "\n"), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
            {
                LogClientFailed(_logger, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Control client failed: {Error}")]
    private static partial void LogClientFailed(ILogger logger, string error);
}
