using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Steer.Policy;

namespace Steer.DnsStub;

// Forwarding to an upstream. Raw messages over our own sockets rather than DnsClient's LookupClient: LookupClient
// builds its own query (its own id, flags and EDNS record, none of the client's options) and hands back parsed records
// that it cannot serialize, so flags, authority records, EDNS options and unknown types would not reach the client
// as the upstream sent them.
public sealed partial class DnsStubResolver
{
    /// <summary>
    /// Sends the query to the upstream over UDP (a fresh socket and a random id per attempt), retrying on timeout, and
    /// over TCP when the UDP answer is truncated. Null when no valid answer came.
    /// </summary>
    private async Task<(byte[] Raw, DnsMessage Parsed)?> ForwardAsync(ReadOnlyMemory<byte> query, DnsQuestion question,
        PolicyAction route, IPEndPoint upstream, CancellationToken cancellationToken)
    {
        byte[] outgoing = query.ToArray();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(DnsMessage.MaxSize);
        try
        {
            for (int attempt = 0; attempt < _options.UpstreamAttempts; attempt++)
            {
                ushort id = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
                BinaryPrimitives.WriteUInt16BigEndian(outgoing, id);
                using var socket = new Socket(upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                _options.ConfigureUpstreamSocket?.Invoke(socket, route);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.UpstreamTimeout);
                try
                {
                    await socket.ConnectAsync(upstream, timeout.Token).ConfigureAwait(false);
                    await socket.SendAsync(outgoing, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    while (true)
                    {
                        int received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                        if (!TryAcceptAnswer(buffer.AsSpan(0, received), id, question, out DnsMessage? answer))
                        {
                            continue; // Not the answer to this query: keep waiting until the timeout.
                        }

                        if (!answer.IsTruncated)
                        {
                            return (buffer.AsSpan(0, received).ToArray(), answer);
                        }

                        Interlocked.Increment(ref _upstreamTcpRetries);
                        return await QueryTcpAsync(outgoing, question, route, upstream, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _upstreamTimeouts);
                }
                catch (SocketException ex)
                {
                    // For example ECONNREFUSED from an ICMP port unreachable: try again, the upstream may be restarting.
                    Interlocked.Increment(ref _upstreamTimeouts);
                    LogUpstreamError(_logger, upstream, ex.SocketErrorCode);
                }
            }

            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Asks the upstream over TCP (one query on a fresh connection). Null when no valid answer came in time.</summary>
    private async Task<(byte[] Raw, DnsMessage Parsed)?> QueryTcpAsync(byte[] outgoing, DnsQuestion question, PolicyAction route,
        IPEndPoint upstream, CancellationToken cancellationToken)
    {
        using var socket = new Socket(upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _options.ConfigureUpstreamSocket?.Invoke(socket, route);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.UpstreamTimeout);
        try
        {
            await socket.ConnectAsync(upstream, timeout.Token).ConfigureAwait(false);
            byte[] framed = new byte[outgoing.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)outgoing.Length);
            outgoing.CopyTo(framed, 2);
            await SendAllAsync(socket, framed, timeout.Token).ConfigureAwait(false);

            byte[] prefix = new byte[2];
            if (!await ReceiveExactAsync(socket, prefix, timeout.Token).ConfigureAwait(false))
            {
                return null;
            }

            byte[] answer = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
            if (!await ReceiveExactAsync(socket, answer, timeout.Token).ConfigureAwait(false))
            {
                return null;
            }

            ushort id = BinaryPrimitives.ReadUInt16BigEndian(outgoing);
            return TryAcceptAnswer(answer, id, question, out DnsMessage? parsed) ? (answer, parsed) : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _upstreamTimeouts);
            return null;
        }
        catch (SocketException ex)
        {
            LogUpstreamError(_logger, upstream, ex.SocketErrorCode);
            return null;
        }
    }

    /// <summary>
    /// Accepts a datagram as the answer to our query: valid, a response, our id, and our question (or no question, as
    /// some servers send with an error code).
    /// </summary>
    private static bool TryAcceptAnswer(ReadOnlySpan<byte> data, ushort id, DnsQuestion question, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DnsMessage? answer)
    {
        answer = null;
        if (!DnsMessage.TryReadId(data, out ushort answerId) || answerId != id
            || !DnsMessage.TryParse(data, out DnsMessage? parsed, out _) || !parsed.IsResponse)
        {
            return false;
        }

        bool sameQuestion = parsed.Questions.Count == 1
            && parsed.Questions[0].Type == question.Type
            && parsed.Questions[0].Class == question.Class
            && DnsName.AreEqual(parsed.Questions[0].Name, question.Name);
        if (!sameQuestion && !(parsed.Questions.Count == 0 && parsed.ResponseCode != DnsResponseCode.NoError))
        {
            return false;
        }

        answer = parsed;
        return true;
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>Fills the buffer; false when the peer closed the connection first.</summary>
    private static async Task<bool> ReceiveExactAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (received == 0)
            {
                return false;
            }

            buffer = buffer[received..];
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "DNS stub: upstream {Upstream} failed: {Error}")]
    private static partial void LogUpstreamError(ILogger logger, IPEndPoint upstream, SocketError error);
}
