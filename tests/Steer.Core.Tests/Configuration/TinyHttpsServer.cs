using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Steer.Core.Tests.Configuration;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 for loader tests: TLS with the given certificate (or plain HTTP when
/// null), answering every GET with one fixed response and closing the connection.
/// </summary>
internal sealed class TinyHttpsServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly X509Certificate2? _certificate;
    private readonly int _status;
    private readonly string _body;
    private readonly bool _answer;
    private readonly Task _loop;
    private int _requests;

    private TinyHttpsServer(X509Certificate2? certificate, int status, string body, bool answer)
    {
        _certificate = certificate;
        _status = status;
        _body = body;
        _answer = answer;
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many requests were read completely.</summary>
    public int RequestCount => Volatile.Read(ref _requests);

    /// <summary>The request line of the last request, for example <c>GET /v1/tenant.json HTTP/1.1</c>.</summary>
    public string? LastRequestLine { get; private set; }

    public Uri Url(string path = "/v1/tenant.json") =>
        new($"{(_certificate is null ? "http" : "https")}://127.0.0.1:{Port}{path}");

    /// <summary>Starts a server; with <paramref name="answer"/> false it reads requests and never answers.</summary>
    public static TinyHttpsServer Start(X509Certificate2? certificate, string body, int status = 200, bool answer = true) =>
        new(certificate, status, body, answer);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        CancellationToken ct = _stop.Token;
        using (client)
        {
            try
            {
                Stream stream = client.GetStream();
                if (_certificate is not null)
                {
                    var ssl = new SslStream(stream);
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, ct);
                    stream = ssl;
                }

                await using (stream)
                {
                    string request = await ReadHeadAsync(stream, ct);
                    if (!request.EndsWith("\r\n\r\n", StringComparison.Ordinal))
                    {
                        return;
                    }

                    LastRequestLine = request.Split("\r\n")[0];
                    Interlocked.Increment(ref _requests);
                    if (!_answer)
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }

                    byte[] body = Encoding.UTF8.GetBytes(_body);
                    string head = $"HTTP/1.1 {_status} {(_status == 200 ? "OK" : "Not Found")}\r\nContent-Type: application/json\r\n" +
                        $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
                    await stream.WriteAsync(body, ct);
                    await stream.FlushAsync(ct);
                }
            }
            catch (Exception)
            {
                // Refused handshakes (wrong pin, untrusted certificate) and stops end here.
            }
        }
    }

    private static async Task<string> ReadHeadAsync(Stream stream, CancellationToken ct)
    {
        var head = new StringBuilder();
        byte[] buffer = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && head.Length < 16384)
        {
            if (await stream.ReadAsync(buffer, ct) == 0)
            {
                break;
            }

            head.Append((char)buffer[0]);
        }

        return head.ToString();
    }
}
