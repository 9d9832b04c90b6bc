using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Steer.Gateway;

/// <summary>
/// Lab service: serves the tenant configuration document at <c>GET /v1/tenant.json</c> over HTTPS, with the
/// gateway's own certificate (clients pin it with <c>--config-pin</c>).
/// </summary>
/// <remarks>
/// Hand-written instead of Kestrel on purpose: it serves one static document in labs, and pulling ASP.NET Core
/// into the <c>steer</c> binary (which embeds the gateway) would cost every client start-up time and size.
/// Requests are bounded (8 KiB, 5 s) and anything but that one GET gets 404/400.
/// </remarks>
internal static partial class TenantConfigServer
{
    public const string DocumentPath = "/v1/tenant.json";

    public static async Task RunAsync(IPEndPoint endPoint, X509Certificate2 certificate, string file, ILogger logger, CancellationToken ct)
    {
        using var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endPoint);
        listener.Listen(64);
        LogServing(logger, file, endPoint.ToString());
        while (!ct.IsCancellationRequested)
        {
            Socket client = await listener.AcceptAsync(ct).ConfigureAwait(false);
            _ = Task.Run(() => ServeAsync(client, certificate, file, logger, ct), CancellationToken.None);
        }
    }

    private static async Task ServeAsync(Socket client, X509Certificate2 certificate, string file, ILogger logger, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        await using var ssl = new SslStream(new NetworkStream(client, ownsSocket: true));
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            }, timeout.Token).ConfigureAwait(false);

            byte[] request = new byte[8192];
            int used = 0;
            while (used < request.Length)
            {
                int n = await ssl.ReadAsync(request.AsMemory(used), timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                used += n;
                if (request.AsSpan(0, used).IndexOf("\r\n\r\n"u8) >= 0)
                {
                    break;
                }
            }

            string head = Encoding.ASCII.GetString(request, 0, used);
            string[] requestLine = head.Split("\r\n", 2)[0].Split(' ');
            (int status, string reason, byte[] body) = requestLine switch
            {
                ["GET", DocumentPath, _] => (200, "OK", await File.ReadAllBytesAsync(file, timeout.Token).ConfigureAwait(false)),
                ["GET", _, _] => (404, "Not Found", "not found\n"u8.ToArray()),
                _ => (400, "Bad Request", "bad request\n"u8.ToArray()),
            };
            string contentType = status == 200 ? "application/json" : "text/plain";
            byte[] header = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
            await ssl.WriteAsync(header, timeout.Token).ConfigureAwait(false);
            await ssl.WriteAsync(body, timeout.Token).ConfigureAwait(false);
            await ssl.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or OperationCanceledException or SocketException)
        {
            LogRequestFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving tenant configuration {File} at https://{EndPoint}/v1/tenant.json")]
    private static partial void LogServing(ILogger logger, string file, string endPoint);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Configuration request failed: {Error}")]
    private static partial void LogRequestFailed(ILogger logger, string error);
}
