using System.Net;
using System.Net.Sockets;
using Steer.Selection;

namespace Steer.Core.Tests.Selection;

/// <summary>
/// A UDP server on 127.0.0.1 that answers latency probes like the gateway (<see cref="ProbeMessage.TryWriteAnswer"/>),
/// after an optional delay; or stays silent; or answers with a corrupted nonce (a spoofer).
/// </summary>
internal sealed class ProbeEchoServer : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private int _answered;

    public ProbeEchoServer(TimeSpan delay = default, bool silent = false, bool spoof = false, int port = 0)
    {
        Delay = delay;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        if (!silent)
        {
            _ = Task.Run(() => RunAsync(spoof, _stop.Token));
        }
    }

    public int Port { get; }

    public TimeSpan Delay { get; set; }

    public int Answered => Volatile.Read(ref _answered);

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(bool spoof, CancellationToken ct)
    {
        byte[] buffer = new byte[2048];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!ct.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, ct);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            byte[] answer = new byte[length];
            if (!ProbeMessage.TryWriteAnswer(buffer.AsSpan(0, length), answer, out _))
            {
                continue;
            }

            if (spoof)
            {
                answer[^1] ^= 0xff;
            }

            var to = new SocketAddress(from.Family, from.Size);
            from.Buffer.CopyTo(to.Buffer);
            TimeSpan delay = Delay;
            if (delay <= TimeSpan.Zero)
            {
                Send(answer, to);
            }
            else
            {
                _ = Task.Delay(delay, ct).ContinueWith(_ => Send(answer, to), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            }
        }
    }

    private void Send(byte[] answer, SocketAddress to)
    {
        try
        {
            _socket.SendTo(answer, SocketFlags.None, to);
            Interlocked.Increment(ref _answered);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }
}
