using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Steer.Lab;

public sealed partial class DelayRelay
{
    private readonly ConcurrentDictionary<SocketAddress, UdpSession> _udpSessions = new();
    private int _queuedDatagrams;

    /// <summary>Active UDP sessions (one per client address and port).</summary>
    public int UdpSessions => _udpSessions.Count;

    private async Task RunUdpAsync(Socket listener, CancellationToken ct)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(65536);
        var from = new SocketAddress(listener.AddressFamily);
        while (!ct.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await listener.ReceiveFromAsync(buffer, SocketFlags.None, from, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // ICMP errors for datagrams sent to clients surface here; one per datagram, so this loop stays bounded.
                LogError(_logger, EndPoint, "UDP receive: " + ex.Message);
                continue;
            }

            if (!_udpSessions.TryGetValue(from, out UdpSession? session))
            {
                if (_udpSessions.Count >= _options.MaxUdpSessions || ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _packetsDropped);
                    continue;
                }

                var client = new SocketAddress(from.Family, from.Size);
                from.Buffer.CopyTo(client.Buffer);
                try
                {
                    session = new UdpSession(this, client, ct);
                }
                catch (SocketException ex)
                {
                    LogError(_logger, EndPoint, "UDP session to the target: " + ex.Message);
                    Interlocked.Increment(ref _packetsDropped);
                    continue;
                }

                _udpSessions[client] = session;
            }

            session.Touch();
            EnqueueDatagram(session.ToTarget, buffer.AsSpan(0, length), toTarget: true, ref session.LastDueToTarget);
        }
    }

    private void EnqueueDatagram(DelayRelayScheduler.ISink sink, ReadOnlySpan<byte> datagram, bool toTarget, ref long lastDue)
    {
        if (Interlocked.Increment(ref _queuedDatagrams) > _options.MaxQueuedDatagrams)
        {
            Interlocked.Decrement(ref _queuedDatagrams);
            Interlocked.Increment(ref _packetsDropped);
            return;
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, datagram.Length));
        datagram.CopyTo(copy);
        if (!_scheduler.Schedule(DueTime(toTarget, ref lastDue), sink, copy, datagram.Length))
        {
            ArrayPool<byte>.Shared.Return(copy);
            Interlocked.Decrement(ref _queuedDatagrams);
        }
    }

    private void DatagramDone(byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        Interlocked.Decrement(ref _queuedDatagrams);
    }

    private async Task ReapUdpSessionsAsync(CancellationToken ct)
    {
        TimeSpan period = TimeSpan.FromTicks(Math.Clamp(_options.UdpSessionTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond * 5));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                long idleLimit = Environment.TickCount64 - (long)_options.UdpSessionTimeout.TotalMilliseconds;
                foreach (KeyValuePair<SocketAddress, UdpSession> entry in _udpSessions)
                {
                    if (entry.Value.LastActivity < idleLimit && _udpSessions.TryRemove(entry))
                    {
                        entry.Value.Dispose();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void CloseUdpSessions()
    {
        foreach (KeyValuePair<SocketAddress, UdpSession> entry in _udpSessions)
        {
            if (_udpSessions.TryRemove(entry))
            {
                entry.Value.Dispose();
            }
        }
    }

    /// <summary>One UDP client: its own socket connected to the target, so answers map back to the client.</summary>
    private sealed class UdpSession : IDisposable
    {
        private readonly DelayRelay _relay;
        private readonly Socket _socket;
        private readonly CancellationTokenSource _stop;
        private long _lastActivity = Environment.TickCount64;

        /// <summary>Due time of the last datagram queued towards the target (touched by the listener loop only).</summary>
        public long LastDueToTarget;

        /// <summary>Due time of the last datagram queued towards the client (touched by this session's loop only).</summary>
        public long LastDueToClient;

        public UdpSession(DelayRelay relay, SocketAddress client, CancellationToken ct)
        {
            _relay = relay;
            Client = client;
            _socket = new Socket(relay.Target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                _socket.Connect(relay.Target);
            }
            catch
            {
                _socket.Dispose();
                throw;
            }

            _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            ToTarget = new ToTargetSink(this);
            ToClient = new ToClientSink(this);
            _ = Task.Run(() => ReceiveFromTargetAsync(_stop.Token));
        }

        public SocketAddress Client { get; }

        public DelayRelayScheduler.ISink ToTarget { get; }

        public DelayRelayScheduler.ISink ToClient { get; }

        public long LastActivity => Volatile.Read(ref _lastActivity);

        public void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
            _stop.Dispose();
        }

        private async Task ReceiveFromTargetAsync(CancellationToken ct)
        {
            byte[] buffer = GC.AllocateUninitializedArray<byte>(65536);
            while (!ct.IsCancellationRequested)
            {
                int length;
                try
                {
                    length = await _socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    continue; // the target's port is closed; one error per datagram sent
                }
                catch (SocketException ex)
                {
                    LogError(_relay._logger, _relay.EndPoint, "UDP receive from the target: " + ex.Message);
                    return;
                }

                Touch();
                _relay.EnqueueDatagram(ToClient, buffer.AsSpan(0, length), toTarget: false, ref LastDueToClient);
            }
        }

        private sealed class ToTargetSink(UdpSession session) : DelayRelayScheduler.ISink
        {
            public void Deliver(byte[]? buffer, int length)
            {
                try
                {
                    session._socket.Send(buffer.AsSpan(0, length), SocketFlags.None);
                    session._relay.CountRelayed(length);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    Interlocked.Increment(ref session._relay._packetsDropped);
                }
                finally
                {
                    session._relay.DatagramDone(buffer);
                }
            }

            public void Discard(byte[]? buffer) => session._relay.DatagramDone(buffer);
        }

        private sealed class ToClientSink(UdpSession session) : DelayRelayScheduler.ISink
        {
            public void Deliver(byte[]? buffer, int length)
            {
                try
                {
                    session._relay._udpListener!.SendTo(buffer.AsSpan(0, length), SocketFlags.None, session.Client);
                    session._relay.CountRelayed(length);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    Interlocked.Increment(ref session._relay._packetsDropped);
                }
                finally
                {
                    session._relay.DatagramDone(buffer);
                }
            }

            public void Discard(byte[]? buffer) => session._relay.DatagramDone(buffer);
        }
    }
}
