using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Steer.Bench.Probes;

/// <summary>
/// The RTT fallback when iputils <c>ping</c> is missing: the time of a TCP handshake (connect() until SYN-ACK) from
/// inside a lab namespace, <paramref name="count"/> times. Slightly above an ICMP RTT (socket set-up is included).
/// </summary>
internal static class TcpConnectRtt
{
    /// <summary>Measures <c>count</c> connects to <paramref name="target"/>; bounded by count × (interval + 1 s).</summary>
    public static Task<PingResult> MeasureAsync(string networkNamespace, IPEndPoint target, int count, double interval, CancellationToken ct)
        => NetworkNamespace.RunAsync(networkNamespace, () =>
        {
            var rtts = new List<double>(count);
            for (int i = 0; i < count && !ct.IsCancellationRequested; i++)
            {
                using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                long start = Stopwatch.GetTimestamp();
                Task connect = socket.ConnectAsync(target, ct).AsTask();
                Task.WaitAny([connect], TimeSpan.FromSeconds(1));
                if (connect.IsCompletedSuccessfully)
                {
                    rtts.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                else
                {
                    _ = connect.Exception;
                }

                Thread.Sleep(TimeSpan.FromSeconds(interval));
            }

            if (rtts.Count == 0)
            {
                throw new BenchException($"no TCP connect to {target} succeeded");
            }

            return new PingResult(rtts, count);
        });
}
