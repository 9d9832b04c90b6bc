using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Steer.Bench.Probes;

/// <summary>
/// Finds the first moment a TCP connection through the tunnel succeeds: inside the client's namespace, a new
/// non-blocking connection attempt starts every <see cref="AttemptInterval"/>, and each is kept for up to
/// <see cref="AttemptLifetime"/> (a SYN queued inside the client before the tunnel was up may still get through).
/// The first attempt that completes its handshake gives the time. Bounded: gives up after the timeout.
/// </summary>
/// <remarks>
/// A new attempt every 2 ms rather than a spin: on a 2-core machine a busy loop would steal the CPU that the starting
/// client needs and make the start look slower. The resolution is therefore about 2 ms.
/// </remarks>
internal static class FirstConnectProbe
{
    public static readonly TimeSpan AttemptInterval = TimeSpan.FromMilliseconds(2);
    public static readonly TimeSpan AttemptLifetime = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Starts probing at once. Completes with the <see cref="Stopwatch"/> timestamp of the first successful connect,
    /// or null when none succeeded within <paramref name="timeout"/>.
    /// </summary>
    public static Task<long?> StartAsync(string networkNamespace, IPEndPoint target, TimeSpan timeout, CancellationToken ct)
        => NetworkNamespace.RunAsync(networkNamespace, () => Run(target, timeout, ct));

    /// <summary>True when a TCP connect to <paramref name="target"/> from the namespace succeeds within 300 ms.</summary>
    public static async Task<bool> CanConnectAsync(string networkNamespace, IPEndPoint target, CancellationToken ct)
        => await NetworkNamespace.RunAsync(networkNamespace, () => Run(target, TimeSpan.FromMilliseconds(300), ct)) is not null;

    private static long? Run(IPEndPoint target, TimeSpan timeout, CancellationToken ct)
    {
        var attempts = new List<(Socket Socket, Task Connect, long Started)>();
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        long lifetime = (long)(AttemptLifetime.TotalSeconds * Stopwatch.Frequency);
        try
        {
            while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
            {
                var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                Task connect = socket.ConnectAsync(target, ct).AsTask();
                if (connect.IsFaulted)
                {
                    // No route yet (ENETUNREACH comes back at once): pace the loop.
                    _ = connect.Exception;
                    socket.Dispose();
                    Thread.Sleep(AttemptInterval);
                    continue;
                }

                attempts.Add((socket, connect, Stopwatch.GetTimestamp()));

                // Wait for any attempt to finish, or for the next attempt to be due.
                Task.WaitAny([.. attempts.Select(a => a.Connect)], AttemptInterval);
                for (int i = attempts.Count - 1; i >= 0; i--)
                {
                    (Socket s, Task pending, long started) = attempts[i];
                    if (pending.IsCompletedSuccessfully)
                    {
                        return Stopwatch.GetTimestamp();
                    }

                    if (pending.IsCompleted || Stopwatch.GetTimestamp() - started > lifetime)
                    {
                        _ = pending.Exception;
                        s.Dispose();
                        attempts.RemoveAt(i);
                    }
                }
            }

            return null;
        }
        finally
        {
            foreach ((Socket s, _, _) in attempts)
            {
                s.Dispose();
            }
        }
    }
}
