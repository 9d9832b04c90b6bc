using System.Net.Sockets;
using System.Text;

namespace Steer.Cli.Control;

/// <summary>Talks to a running steer process over its control socket.</summary>
internal static class ControlClient
{
    /// <summary>Default control socket of <c>steer up</c>; override with --control-socket or STEER_CONTROL_SOCKET.</summary>
    public static string DefaultPath => Environment.GetEnvironmentVariable("STEER_CONTROL_SOCKET") is { Length: > 0 } p ? p : "/run/steer/steer.sock";

    /// <summary>Sends one command and returns the JSON answer.</summary>
    /// <exception cref="CliException">Nothing listens on the socket, or access was denied.</exception>
    public static async Task<string> SendAsync(string path, string command, CancellationToken ct)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.ConnectionRefused or SocketError.AddressFamilyNotSupported || !File.Exists(path))
        {
            throw new CliException($"Steer is not running (no control socket at {path}). Start it with 'steer up --tenant NAME'.", 3);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new CliException($"Permission denied on control socket {path}: it is root-only; run with sudo.", 4);
        }

        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\n"), ct).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadLineAsync(ct).ConfigureAwait(false)
            ?? throw new CliException($"The steer process behind {path} closed the connection without answering.", 1);
    }

    /// <summary>True when a process answers on <paramref name="path"/>.</summary>
    public static bool IsAlive(string path)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
