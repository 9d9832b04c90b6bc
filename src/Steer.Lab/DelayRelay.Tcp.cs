using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Steer.Lab;

public sealed partial class DelayRelay
{
    private const int TcpChunkSize = 16 * 1024;
    private readonly ConcurrentDictionary<long, TcpConnection> _tcpConnections = new();
    private long _nextConnectionId;

    /// <summary>Open TCP connections.</summary>
    public int TcpConnections => _tcpConnections.Count;

    private async Task RunTcpAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogError(_logger, EndPoint, "TCP accept: " + ex.Message);
                try
                {
                    await Task.Delay(50, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            if (_tcpConnections.Count >= _options.MaxTcpConnections)
            {
                client.Dispose();
                continue;
            }

            client.NoDelay = true;
            long id = Interlocked.Increment(ref _nextConnectionId);
            var connection = new TcpConnection(this, id, client, ct);
            _tcpConnections[id] = connection;
            connection.Start();
        }
    }

    private Task CloseTcpConnectionsAsync()
    {
        var running = new List<Task>();
        foreach (TcpConnection connection in _tcpConnections.Values)
        {
            connection.Abort();
            running.Add(connection.Completion);
        }

        return Task.WhenAll(running);
    }

    /// <summary>One accepted connection spliced to a new connection to the target.</summary>
    private sealed class TcpConnection
    {
        private readonly DelayRelay _relay;
        private readonly long _id;
        private readonly Socket _client;
        private readonly Socket _server;
        private readonly CancellationTokenSource _abort;

        public TcpConnection(DelayRelay relay, long id, Socket client, CancellationToken ct)
        {
            _relay = relay;
            _id = id;
            _client = client;
            _server = new Socket(relay.Target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
        }

        public Task Completion { get; private set; } = Task.CompletedTask;

        public void Start() => Completion = Task.Run(RunAsync);

        public void Abort()
        {
            try
            {
                _abort.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Finished meanwhile.
            }

            _client.Dispose();
            _server.Dispose();
        }

        private async Task RunAsync()
        {
            try
            {
                using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token))
                {
                    connectTimeout.CancelAfter(_relay._options.ConnectTimeout);
                    try
                    {
                        await _server.ConnectAsync(_relay.Target, connectTimeout.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
                    {
                        LogError(_relay._logger, _relay.EndPoint, $"TCP connect to {_relay.Target}: {ex.Message}");
                        return;
                    }
                }

                var toTarget = new Direction(this, _client, _server, toTarget: true);
                var toClient = new Direction(this, _server, _client, toTarget: false);
                await Task.WhenAll(toTarget.RunAsync(), toClient.RunAsync()).ConfigureAwait(false);
            }
            finally
            {
                _client.Dispose();
                _server.Dispose();
                _relay._tcpConnections.TryRemove(_id, out _);
                _abort.Dispose();
            }
        }

        /// <summary>One direction: reads chunks, queues them for their delay, writes them in order.</summary>
        private sealed class Direction : DelayRelayScheduler.ISink
        {
            private readonly TcpConnection _connection;
            private readonly Socket _from;
            private readonly Socket _to;
            private readonly bool _toTarget;
            private readonly SemaphoreSlim _slots;
            private readonly Channel<(byte[]? Buffer, int Length)> _ready =
                Channel.CreateUnbounded<(byte[]? Buffer, int Length)>(new UnboundedChannelOptions { SingleReader = true });
            private long _lastDue;

            public Direction(TcpConnection connection, Socket from, Socket to, bool toTarget)
            {
                _connection = connection;
                _from = from;
                _to = to;
                _toTarget = toTarget;
                int slots = connection._relay._options.MaxQueuedChunksPerDirection;
                _slots = new SemaphoreSlim(slots, slots);
            }

            private DelayRelay Relay => _connection._relay;

            public Task RunAsync() => Task.WhenAll(ReadAsync(), WriteAsync());

            public void Deliver(byte[]? buffer, int length)
            {
                if (!_ready.Writer.TryWrite((buffer, length)))
                {
                    Discard(buffer);
                }
            }

            public void Discard(byte[]? buffer)
            {
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                _slots.Release();
            }

            private async Task ReadAsync()
            {
                CancellationToken ct = _connection._abort.Token;
                try
                {
                    while (true)
                    {
                        await _slots.WaitAsync(ct).ConfigureAwait(false);
                        await _from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, ct).ConfigureAwait(false); // wait for data before renting
                        byte[] buffer = ArrayPool<byte>.Shared.Rent(TcpChunkSize);
                        int length;
                        try
                        {
                            length = await _from.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
                        }
                        catch
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                            throw;
                        }

                        if (length == 0)
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                            Schedule(null, 0); // end of stream: shut the other side's sending half down after the delay
                            return;
                        }

                        if (!Schedule(buffer, length))
                        {
                            return;
                        }
                    }
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    _connection.Abort();
                }
            }

            private bool Schedule(byte[]? buffer, int length)
            {
                if (Relay._scheduler.Schedule(Relay.DueTime(_toTarget, ref _lastDue), this, buffer, length))
                {
                    return true;
                }

                Discard(buffer);
                _connection.Abort();
                return false;
            }

            private async Task WriteAsync()
            {
                CancellationToken ct = _connection._abort.Token;
                try
                {
                    while (await _ready.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                    {
                        while (_ready.Reader.TryRead(out (byte[]? Buffer, int Length) chunk))
                        {
                            if (chunk.Buffer is null)
                            {
                                _slots.Release();
                                _to.Shutdown(SocketShutdown.Send);
                                return;
                            }

                            try
                            {
                                await _to.SendAsync(chunk.Buffer.AsMemory(0, chunk.Length), SocketFlags.None, ct).ConfigureAwait(false);
                                Relay.CountRelayed(chunk.Length);
                            }
                            finally
                            {
                                Discard(chunk.Buffer);
                            }
                        }
                    }
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    _connection.Abort();
                }
                finally
                {
                    _ready.Writer.TryComplete();
                    while (_ready.Reader.TryRead(out (byte[]? Buffer, int Length) left))
                    {
                        Discard(left.Buffer);
                    }
                }
            }
        }
    }
}
