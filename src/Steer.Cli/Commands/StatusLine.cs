namespace Steer.Cli.Commands;

/// <summary>
/// The live status line of <c>steer up</c>: redrawn in place every second on a terminal; on a pipe or file, one
/// line per state change instead (so logs stay readable).
/// </summary>
internal sealed class StatusLine
{
    private readonly bool _live = !Console.IsErrorRedirected;
    private SteerState? _lastState;

    public void OnChange(SteerStatus status)
    {
        if (status.State == _lastState)
        {
            return;
        }

        _lastState = status.State;
        if (!_live)
        {
            Console.Error.WriteLine($"steer: {Format(status)}");
        }
    }

    public void Tick(SteerStatus status)
    {
        if (_live)
        {
            Console.Error.Write($"\r\x1b[K{Format(status)}");
        }
    }

    public void Clear()
    {
        if (_live)
        {
            Console.Error.Write("\r\x1b[K");
        }
    }

    public static string Format(SteerStatus s) => s.State switch
    {
        SteerState.Connected =>
            $"{s.State.ToString().ToLowerInvariant()} to {s.Gateway} ({s.GatewayEndpoint}) over {s.Transport}; {s.Interface} {s.InnerIPv4} {s.InnerIPv6}; " +
            $"tx {Human(s.BytesSent)} rx {Human(s.BytesReceived)} drop {s.PacketsDropped}",
        _ => $"{s.State.ToString().ToLowerInvariant()}{(s.LastError is null ? "" : $": {s.LastError}")}",
    };

    public static string Human(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.0} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.00} GiB",
    };
}
