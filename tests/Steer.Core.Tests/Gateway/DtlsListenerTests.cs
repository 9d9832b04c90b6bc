using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Gateway;

namespace Steer.Core.Tests.Gateway;

/// <summary>The gateway's UDP side without a TUN: probe echo and garbage handling.</summary>
public sealed class DtlsListenerTests : IDisposable
{
    private readonly DtlsListener _listener = new(new IPEndPoint(IPAddress.Loopback, 0), _ => null, NullLogger.Instance);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public DtlsListenerTests() => _run = _listener.RunAsync(_stop.Token);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _stop.Dispose();
    }

    [Fact]
    public async Task Probe_is_echoed_with_the_answer_magic_and_same_bytes()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(_listener.LocalEndPoint);
        byte[] probe = [.. "STP1"u8, .. Enumerable.Range(0, 32).Select(i => (byte)i)];

        await socket.SendAsync(probe, TestContext.Current.CancellationToken);
        byte[] answer = new byte[128];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        int n = await socket.ReceiveAsync(answer, timeout.Token);

        Assert.Equal(probe.Length, n);
        Assert.Equal("STP2"u8.ToArray(), answer[..4]);
        Assert.Equal(probe[4..], answer[4..n]);

        // The counter moves right after the send, so the answer can arrive first.
        for (int i = 0; i < 100 && _listener.ProbesAnswered == 0; i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.Equal(1, _listener.ProbesAnswered);
    }

    [Fact]
    public async Task Garbage_and_oversized_probes_get_no_answer_and_are_counted()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(_listener.LocalEndPoint);
        var random = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            byte[] garbage = new byte[random.Next(1, 1400)];
            random.NextBytes(garbage);
            garbage[0] = (byte)(i % 2 == 0 ? 22 : garbage[0]); // half of them look like DTLS handshakes
            garbage[1] = (byte)(i % 2 == 0 ? 254 : garbage[1]);
            await socket.SendAsync(garbage, TestContext.Current.CancellationToken);
        }

        await socket.SendAsync((byte[])[.. "STP1"u8, .. new byte[100]], TestContext.Current.CancellationToken); // too long to echo

        for (int i = 0; i < 100 && _listener.Datagrams < 201; i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(201, _listener.Datagrams);
        Assert.Equal(201, _listener.Dropped);
        Assert.Equal(0, _listener.ProbesAnswered);
        Assert.Equal(0, socket.Available);
        Assert.False(_run.IsFaulted);
    }
}
