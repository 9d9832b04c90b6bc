using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Steer.DnsStub;

// The TCP listener: RFC 7766 framing (a 2-byte length before each message), several queries per connection, one at
// a time; closed after an idle timeout, on a malformed message or when the stub stops.
public sealed partial class DnsStubResolver
{
    private async Task AcceptTcpAsync()
    {
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _tcp!.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex)
            {
                LogReceiveFailed(_logger, ex.SocketErrorCode);
                continue;
            }

            if (Interlocked.Increment(ref _tcpConnections) > MaxTcpConnections)
            {
                Interlocked.Decrement(ref _tcpConnections);
                Interlocked.Increment(ref _dropped);
                client.Dispose();
                continue;
            }

            _ = ServeTcpAsync(client, stop);
        }
    }

    private async Task ServeTcpAsync(Socket client, CancellationToken stop)
    {
        byte[] prefix = new byte[2];
        try
        {
            client.NoDelay = true;
            while (!stop.IsCancellationRequested)
            {
                int length;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    idle.CancelAfter(_options.TcpIdleTimeout);
                    if (!await ReceiveExactAsync(client, prefix, idle.Token).ConfigureAwait(false))
                    {
                        return;
                    }

                    length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
                    Interlocked.Increment(ref _queries);
                    Interlocked.Increment(ref _tcpQueries);
                    if (length < 12)
                    {
                        Interlocked.Increment(ref _malformed);
                        return;
                    }
                }

                byte[] query = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    using (var read = CancellationTokenSource.CreateLinkedTokenSource(stop))
                    {
                        read.CancelAfter(_options.TcpIdleTimeout);
                        if (!await ReceiveExactAsync(client, query.AsMemory(0, length), read.Token).ConfigureAwait(false))
                        {
                            return;
                        }
                    }

                    if (!_slots.Wait(0))
                    {
                        Interlocked.Increment(ref _dropped);
                        return;
                    }

                    byte[]? reply;
                    try
                    {
                        reply = await ResolveAsync(query.AsMemory(0, length), overTcp: true, stop).ConfigureAwait(false);
                    }
                    finally
                    {
                        _slots.Release();
                    }

                    if (reply is null)
                    {
                        return; // Malformed: a stream that carries garbage cannot be trusted to be framed right.
                    }

                    byte[] framed = new byte[reply.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)reply.Length);
                    reply.CopyTo(framed, 2);
                    await SendAllAsync(client, framed, stop).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(query);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        catch (Exception ex)
        {
            LogHandlerFailed(_logger, ex);
        }
        finally
        {
            Interlocked.Decrement(ref _tcpConnections);
            client.Dispose();
        }
    }
}
