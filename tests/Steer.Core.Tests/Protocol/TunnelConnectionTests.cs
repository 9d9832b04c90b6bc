using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Protocol;

namespace Steer.Core.Tests.Protocol;

public class TunnelConnectionTests
{
    private static TunnelConnection Create(Stream stream, TimeSpan keepalive, int mtu = 1500)
        => new(stream, new FrameReader(stream), mtu, keepalive, 8192, NullLogger.Instance);

    private static byte[] Packet(int i, int length)
    {
        byte[] p = new byte[length];
        p[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(4), i);
        for (int k = 8; k < length; k++)
        {
            p[k] = (byte)(i + k);
        }

        return p;
    }

    [Fact]
    public async Task On_idle_follows_delivered_packets_before_the_receiver_waits_and_never_comes_without_one()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var (a, b) = await LoopbackPair.CreateAsync();
        await using TunnelConnection left = Create(a, TimeSpan.FromSeconds(5));
        await using TunnelConnection right = Create(b, TimeSpan.FromSeconds(5));
        int delivered = 0;
        int sinceIdle = 0;
        var idleCalls = new ConcurrentQueue<int>(); // packets delivered since the previous call, at each call
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task runLeft = left.RunAsync((_, _) => ValueTask.CompletedTask, stop.Token);
        Task runRight = right.RunAsync(
            (_, _) => { delivered++; sinceIdle++; return ValueTask.CompletedTask; },
            _ => { idleCalls.Enqueue(sinceIdle); sinceIdle = 0; return ValueTask.CompletedTask; },
            stop.Token);

        const int count = 500;
        for (int i = 0; i < count; i++)
        {
            while (!left.TrySendPacket(Packet(i, 1200)))
            {
                await Task.Delay(1, ct);
            }
        }

        for (int wait = 0; wait < 200 && idleCalls.Sum() < count; wait++)
        {
            await Task.Delay(25, ct);
        }

        Assert.Equal(count, Volatile.Read(ref delivered));
        Assert.Equal(count, idleCalls.Sum()); // every packet is followed by an idle call once the stream runs dry
        Assert.DoesNotContain(0, idleCalls);
        Assert.True(idleCalls.Count < count, $"{idleCalls.Count} idle calls for {count} packets: no batching at all");
        await stop.CancelAsync();
        await runLeft;
        await runRight;
    }

    [Fact]
    public async Task Carries_packets_both_ways_in_order_and_intact()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var (a, b) = await LoopbackPair.CreateAsync();
        await using TunnelConnection left = Create(a, TimeSpan.FromSeconds(5));
        await using TunnelConnection right = Create(b, TimeSpan.FromSeconds(5));
        var toRight = new ConcurrentQueue<byte[]>();
        var toLeft = new ConcurrentQueue<byte[]>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task runLeft = left.RunAsync((p, _) => { toLeft.Enqueue(p.ToArray()); return ValueTask.CompletedTask; }, stop.Token);
        Task runRight = right.RunAsync((p, _) => { toRight.Enqueue(p.ToArray()); return ValueTask.CompletedTask; }, stop.Token);

        const int count = 2000;
        for (int i = 0; i < count; i++)
        {
            while (!left.TrySendPacket(Packet(i, 40 + (i % 1400))))
            {
                await Task.Delay(1, ct);
            }

            while (!right.TrySendPacket(Packet(i, 1500 - (i % 1400))))
            {
                await Task.Delay(1, ct);
            }
        }

        for (int wait = 0; wait < 200 && (toRight.Count < count || toLeft.Count < count); wait++)
        {
            await Task.Delay(25, ct);
        }

        Assert.Equal(count, toRight.Count);
        Assert.Equal(count, toLeft.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => Packet(i, 40 + (i % 1400))), toRight);
        Assert.Equal(Enumerable.Range(0, count).Select(i => Packet(i, 1500 - (i % 1400))), toLeft);
        Assert.Equal(count, left.Counters.PacketsSent);
        Assert.Equal(count, right.Counters.PacketsReceived);
        await stop.CancelAsync();
        await runLeft;
        await runRight;
    }

    [Fact]
    public async Task Close_frame_ends_the_peer_cleanly_with_the_reason()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var (a, b) = await LoopbackPair.CreateAsync();
        await using TunnelConnection left = Create(a, TimeSpan.FromSeconds(5));
        await using TunnelConnection right = Create(b, TimeSpan.FromSeconds(5));
        Task runLeft = left.RunAsync((_, _) => ValueTask.CompletedTask, ct);
        Task runRight = right.RunAsync((_, _) => ValueTask.CompletedTask, ct);

        await left.CloseAsync("bye now");

        await runRight.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.Contains("bye now", right.CloseReason, StringComparison.Ordinal);
        await runLeft.WaitAsync(TimeSpan.FromSeconds(5), ct);
    }

    [Fact]
    public async Task Error_frame_surfaces_as_PeerErrorException_with_code()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var (a, b) = await LoopbackPair.CreateAsync();
        await using TunnelConnection left = Create(a, TimeSpan.FromSeconds(5));
        await using TunnelConnection right = Create(b, TimeSpan.FromSeconds(5));
        Task runLeft = left.RunAsync((_, _) => ValueTask.CompletedTask, ct);
        Task runRight = right.RunAsync((_, _) => ValueTask.CompletedTask, ct);

        await left.FailAsync(GatewayErrorCodes.ShuttingDown, "maintenance");

        var error = await Assert.ThrowsAsync<PeerErrorException>(() => runRight.WaitAsync(TimeSpan.FromSeconds(5), ct));
        Assert.Equal(GatewayErrorCodes.ShuttingDown, error.Code);
        Assert.Contains("maintenance", error.Message, StringComparison.Ordinal);
        await runLeft.WaitAsync(TimeSpan.FromSeconds(5), ct);
    }

    [Fact]
    public async Task Silent_peer_is_declared_dead_after_three_keepalive_intervals()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var (a, b) = await LoopbackPair.CreateAsync();
        await using TunnelConnection left = Create(a, TimeSpan.FromMilliseconds(200));
        var started = System.Diagnostics.Stopwatch.StartNew();

        // b never answers: nothing is read from it and nothing written.
        var error = await Assert.ThrowsAsync<TimeoutException>(
            () => left.RunAsync((_, _) => ValueTask.CompletedTask, ct).WaitAsync(TimeSpan.FromSeconds(10), ct));

        Assert.Contains("dead peer", error.Message, StringComparison.Ordinal);
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(1200), TimeSpan.FromSeconds(5));
        await b.DisposeAsync();
    }

    [Fact]
    public async Task Answered_keepalives_keep_an_idle_connection_alive()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var (a, b) = await LoopbackPair.CreateAsync();
        await using TunnelConnection left = Create(a, TimeSpan.FromMilliseconds(100));
        await using TunnelConnection right = Create(b, TimeSpan.FromSeconds(30));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task runLeft = left.RunAsync((_, _) => ValueTask.CompletedTask, stop.Token);
        Task runRight = right.RunAsync((_, _) => ValueTask.CompletedTask, stop.Token);

        await Task.Delay(TimeSpan.FromMilliseconds(1500), ct); // 15 intervals, 3.6 dead-peer timeouts

        Assert.False(runLeft.IsCompleted, left.CloseReason);
        await stop.CancelAsync();
        await runLeft;
        await runRight;
    }

    [Fact]
    public async Task Oversized_data_frame_and_unknown_frame_type_end_the_session_with_a_protocol_error()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        foreach (byte[] wire in new[] { BigDataFrame(), new byte[] { 0x7F, 0, 0, 0 }, new byte[] { (byte)FrameType.Hello, 0, 0, 1, 1 } })
        {
            var (a, b) = await LoopbackPair.CreateAsync();
            await using TunnelConnection right = Create(b, TimeSpan.FromSeconds(5), mtu: 1400);
            Task run = right.RunAsync((_, _) => ValueTask.CompletedTask, ct);
            await a.WriteAsync(wire, ct);

            await Assert.ThrowsAsync<SteerProtocolException>(() => run.WaitAsync(TimeSpan.FromSeconds(5), ct));
            await a.DisposeAsync();
        }

        static byte[] BigDataFrame()
        {
            byte[] frame = new byte[4 + 1401];
            FrameCodec.WriteHeader(frame, FrameType.Data, 1401);
            return frame;
        }
    }

    [Fact]
    public async Task Full_queue_drops_and_counts_instead_of_blocking()
    {
        var (a, b) = await LoopbackPair.CreateAsync();
        await using var connection = new TunnelConnection(a, new FrameReader(a), 1500, TimeSpan.FromSeconds(5), 16, NullLogger.Instance);

        // Not running: nothing drains the queue.
        int accepted = Enumerable.Range(0, 40).Count(i => connection.TrySendPacket(Packet(i, 100)));

        Assert.Equal(16, accepted);
        Assert.Equal(24, connection.Counters.PacketsDropped);
        await b.DisposeAsync();
    }
}
