using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Steer.Lab;

public sealed partial class WhoAmIServer
{
    private const int MaxRequestHeadBytes = 8 * 1024;
    private const int MaxDrainBytes = 64 * 1024;
    private static readonly TimeSpan s_requestHeadTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_drainTimeout = TimeSpan.FromSeconds(2);
    private static readonly SearchValues<byte> s_tokenBytes =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);
    private static readonly SearchValues<byte> s_targetBytes =
        SearchValues.Create("!#$%&'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~"u8);

    private async Task ServeConnectionAsync(Socket socket, CancellationToken stopping)
    {
        string remote = "unknown";
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxRequestHeadBytes);
        try
        {
            IPAddress remoteAddress = socket.RemoteEndPoint is IPEndPoint endPoint ? endPoint.Address : IPAddress.None;
            if (remoteAddress.IsIPv4MappedToIPv6)
            {
                remoteAddress = remoteAddress.MapToIPv4();
            }

            remote = remoteAddress.ToString();
            socket.NoDelay = true;

            Response response;
            using (var headCts = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                headCts.CancelAfter(s_requestHeadTimeout);
                int length;
                try
                {
                    length = await ReadRequestHeadAsync(socket, buffer, headCts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    length = -2;
                }

                response = length switch
                {
                    0 => default, // connected and closed without a request: nothing to answer
                    -1 => Response.Error(431, "Request Header Fields Too Large"),
                    -2 => Response.Error(408, "Request Timeout"),
                    -3 => Response.Error(400, "Bad Request"), // closed in the middle of the head
                    _ => Route(buffer.AsSpan(0, length), remote),
                };
            }

            if (response.StatusCode == 0)
            {
                return;
            }

            await SendResponseAsync(socket, response, stopping).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            await DrainAsync(socket, buffer, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            LabLog.HttpConnectionFailed(_logger, remote, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            socket.Dispose();
        }
    }

    /// <summary>
    /// Reads until the end of the request head (an empty line). Returns its length (through the empty line), 0 when the
    /// peer closed without sending anything, -1 when the head is too large, -3 when the peer closed mid-head.
    /// </summary>
    private static async Task<int> ReadRequestHeadAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        int length = 0;
        while (true)
        {
            if (length == MaxRequestHeadBytes)
            {
                return -1;
            }

            int read = await socket.ReceiveAsync(buffer.AsMemory(length, MaxRequestHeadBytes - length), SocketFlags.None, cancellationToken)
                .ConfigureAwait(false);
            if (read == 0)
            {
                return length == 0 ? 0 : -3;
            }

            int searchFrom = Math.Max(0, length - 3);
            length += read;
            int end = FindHeadEnd(buffer.AsSpan(searchFrom, length - searchFrom));
            if (end >= 0)
            {
                return searchFrom + end;
            }
        }
    }

    /// <summary>Finds the end (exclusive) of "\r\n\r\n" or "\n\n" in <paramref name="data"/>, or -1.</summary>
    private static int FindHeadEnd(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] != (byte)'\n')
            {
                continue;
            }

            if (i + 1 < data.Length && data[i + 1] == (byte)'\n')
            {
                return i + 2;
            }

            if (i + 2 < data.Length && data[i + 1] == (byte)'\r' && data[i + 2] == (byte)'\n')
            {
                return i + 3;
            }
        }

        return -1;
    }

    private Response Route(ReadOnlySpan<byte> head, string remote)
    {
        Response response = RouteCore(head, remote, out string method, out string target);
        LabLog.HttpRequest(_logger, method, target, remote, response.StatusCode);
        return response;
    }

    private static Response RouteCore(ReadOnlySpan<byte> head, string remote, out string method, out string target)
    {
        method = "?";
        target = "?";
        int lineEnd = head.IndexOf((byte)'\n');
        ReadOnlySpan<byte> requestLine = head[..lineEnd].TrimEnd((byte)'\r');

        // request-line = method SP request-target SP HTTP-version
        int firstSpace = requestLine.IndexOf((byte)' ');
        int lastSpace = requestLine.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace + 1)
        {
            return Response.Error(400, "Bad Request");
        }

        ReadOnlySpan<byte> methodBytes = requestLine[..firstSpace];
        ReadOnlySpan<byte> targetBytes = requestLine[(firstSpace + 1)..lastSpace];
        ReadOnlySpan<byte> version = requestLine[(lastSpace + 1)..];
        if (methodBytes.ContainsAnyExcept(s_tokenBytes) || targetBytes.ContainsAnyExcept(s_targetBytes) || targetBytes[0] != (byte)'/')
        {
            return Response.Error(400, "Bad Request");
        }

        method = Encoding.ASCII.GetString(methodBytes);
        target = Encoding.ASCII.GetString(targetBytes);
        if (!version.SequenceEqual("HTTP/1.1"u8) && !version.SequenceEqual("HTTP/1.0"u8))
        {
            return version.StartsWith("HTTP/"u8) && version.Length == 8 && char.IsAsciiDigit((char)version[5])
                ? Response.Error(505, "HTTP Version Not Supported")
                : Response.Error(400, "Bad Request");
        }

        // Header fields: each must be "name: value"; their values are not needed.
        ReadOnlySpan<byte> fields = head[(lineEnd + 1)..];
        while (!fields.IsEmpty)
        {
            int end = fields.IndexOf((byte)'\n');
            ReadOnlySpan<byte> field = (end < 0 ? fields : fields[..end]).TrimEnd((byte)'\r');
            fields = end < 0 ? default : fields[(end + 1)..];
            if (field.IsEmpty)
            {
                break;
            }

            int colon = field.IndexOf((byte)':');
            if (colon <= 0 || field[..colon].ContainsAnyExcept(s_tokenBytes))
            {
                return Response.Error(400, "Bad Request");
            }
        }

        bool headOnly = method == "HEAD";
        if (method != "GET" && !headOnly)
        {
            return Response.Error(405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
        }

        int query = target.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? target : target[..query];
        string queryString = query < 0 ? string.Empty : target[(query + 1)..];
        Response response = path switch
        {
            "/whoami" => Response.Text(200, "OK", $"you are {remote}\n"),
            "/bytes" => Bytes(queryString),
            "/" => Response.Text(200, "OK", "steer lab http server: GET /whoami, GET /bytes?n=N (N <= 1073741824)\n"),
            _ => Response.Error(404, "Not Found"),
        };
        return response with { HeadOnly = headOnly };
    }

    private static Response Bytes(string queryString)
    {
        long? n = null;
        foreach (string pair in queryString.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (pair.StartsWith("n=", StringComparison.Ordinal))
            {
                string value = pair[2..];
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long parsed))
                {
                    // All digits but too long for a long is still a (huge) valid count: cap it like any other.
                    if (value.Length == 0 || value.AsSpan().ContainsAnyExceptInRange('0', '9'))
                    {
                        return Response.Error(400, "Bad Request", body: "n must be a non-negative integer\n");
                    }

                    parsed = long.MaxValue;
                }

                n = parsed;
            }
        }

        if (n is not long count)
        {
            return Response.Error(400, "Bad Request", body: "usage: GET /bytes?n=N\n");
        }

        return new Response(200, "OK", "application/octet-stream", null, Math.Min(count, MaxBytes), string.Empty);
    }

    private static async Task SendResponseAsync(Socket socket, Response response, CancellationToken cancellationToken)
    {
        long contentLength = response.Body is { } body ? Encoding.UTF8.GetByteCount(body) : response.PatternLength;
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.StatusCode} {response.Reason}\r\n");
        head.Append("Server: steer-lab\r\n");
        head.Append(CultureInfo.InvariantCulture, $"Content-Type: {response.ContentType}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {contentLength}\r\n");
        head.Append("Connection: close\r\n");
        if (response.Body is null)
        {
            // Hash before sending: the header goes first. Cached per length, so repeated downloads don't rehash.
            string hash = await Task.Run(() => ComputePatternSha256(response.PatternLength, cancellationToken), cancellationToken)
                .ConfigureAwait(false);
            head.Append(CultureInfo.InvariantCulture, $"{Sha256HeaderName}: {hash}\r\n");
            head.Append(CultureInfo.InvariantCulture, $"Repr-Digest: sha-256=:{Convert.ToBase64String(Convert.FromHexString(hash))}:\r\n");
        }

        head.Append(response.ExtraHeaders);
        head.Append("\r\n");
        if (!response.HeadOnly && response.Body is not null)
        {
            head.Append(response.Body);
        }

        await SendAllAsync(socket, Encoding.UTF8.GetBytes(head.ToString()), cancellationToken).ConfigureAwait(false);
        if (response.HeadOnly || response.Body is not null)
        {
            return;
        }

        long sent = 0;
        while (sent < response.PatternLength)
        {
            int offset = (int)(sent % PatternPeriod);
            int count = (int)Math.Min(PatternPeriod - offset, response.PatternLength - sent);
            await SendAllAsync(socket, s_pattern.AsMemory(offset, count), cancellationToken).ConfigureAwait(false);
            sent += count;
        }
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>
    /// After the response, reads (and drops) what the client still sends, briefly, so that closing does not reset the
    /// connection before the client has read the response.
    /// </summary>
    private static async Task DrainAsync(Socket socket, byte[] buffer, CancellationToken stopping)
    {
        using var drainCts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        drainCts.CancelAfter(s_drainTimeout);
        int total = 0;
        try
        {
            while (total < MaxDrainBytes)
            {
                int read = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, drainCts.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                total += read;
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            // The client keeps the connection open: close it anyway.
        }
    }

    private readonly record struct Response(
        int StatusCode,
        string Reason,
        string ContentType,
        string? Body,
        long PatternLength,
        string ExtraHeaders)
    {
        public bool HeadOnly { get; init; }

        public static Response Text(int statusCode, string reason, string body)
            => new(statusCode, reason, "text/plain; charset=utf-8", body, 0, string.Empty);

        public static Response Error(int statusCode, string reason, string extraHeaders = "", string? body = null)
            => new(
                statusCode,
                reason,
                "text/plain; charset=utf-8",
                body ?? string.Create(CultureInfo.InvariantCulture, $"{statusCode} {reason}\n"),
                0,
                extraHeaders);
    }
}
