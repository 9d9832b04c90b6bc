using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Steer.Configuration;
using Steer.Security;

namespace Steer.Protocol;

/// <summary>Client side of the handshake: TCP, TLS 1.3 with a pinned gateway key, Hello → Welcome.</summary>
internal static class TunnelConnector
{
    /// <summary>Connects to <paramref name="gateway"/> and completes the handshake.</summary>
    /// <exception cref="PinMismatchException">The gateway's key is not pinned in the tenant configuration.</exception>
    /// <exception cref="PeerErrorException">The gateway refused the client (for example a bad token).</exception>
    /// <exception cref="SteerProtocolException">The gateway broke the protocol.</exception>
    public static Task<(SslStream Stream, FrameReader Reader, ServerWelcome Welcome)> ConnectAsync(
        GatewayEndpoint gateway, ClientHello hello, TimeSpan timeout, ILogger logger, CancellationToken cancellationToken)
        => ConnectAsync(gateway, hello, timeout, logger, configureSocket: null, cancellationToken);

    /// <summary>Connects to <paramref name="gateway"/> and completes the handshake.</summary>
    /// <param name="gateway">The gateway.</param>
    /// <param name="hello">The client's Hello.</param>
    /// <param name="timeout">Time allowed for TCP connect, TLS and the handshake together.</param>
    /// <param name="logger">Receives diagnostics.</param>
    /// <param name="configureSocket">
    /// Called with the new (dual-mode) TCP socket before it connects, for example <c>ISocketProtector.Protect</c> so that
    /// the connection never enters Steer's own tunnel; its exceptions end the call (the socket is closed).
    /// </param>
    /// <param name="cancellationToken">Ends the attempt.</param>
    /// <exception cref="PinMismatchException">The gateway's key is not pinned in the tenant configuration.</exception>
    /// <exception cref="PeerErrorException">The gateway refused the client (for example a bad token).</exception>
    /// <exception cref="SteerProtocolException">The gateway broke the protocol.</exception>
    public static async Task<(SslStream Stream, FrameReader Reader, ServerWelcome Welcome)> ConnectAsync(
        GatewayEndpoint gateway, ClientHello hello, TimeSpan timeout, ILogger logger, Action<Socket>? configureSocket, CancellationToken cancellationToken)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        CancellationToken ct = timeoutCts.Token;
        Socket? socket = null;
        SslStream? ssl = null;
        try
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            socket.DualMode = true;
            configureSocket?.Invoke(socket);
            await ConnectSocketAsync(socket, gateway, ct).ConfigureAwait(false);

            var pins = new PinValidator(gateway.Pins);
            ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            socket = null;
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = IPAddress.TryParse(gateway.Address, out _) ? string.Empty : gateway.Address,
                ApplicationProtocols = [new SslApplicationProtocol(FrameCodec.Alpn)],
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = pins.CreateCallback(),
            };
            try
            {
                await ssl.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
            }
            catch (AuthenticationException ex) when (pins.IsMismatch && pins.PresentedPin is not null)
            {
                throw PinMismatchException.ForGateway(gateway, pins.PresentedPin, ex);
            }

            if (ssl.NegotiatedApplicationProtocol.ToString() != FrameCodec.Alpn)
            {
                throw new SteerProtocolException(
                    $"Gateway '{gateway.Name}' did not agree on application protocol {FrameCodec.Alpn} (got '{ssl.NegotiatedApplicationProtocol}'); it is not a Steer v1 gateway.");
            }

            await ssl.WriteAsync(FrameCodec.Encode(FrameType.Hello, HandshakeCodec.EncodeHello(hello)), ct).ConfigureAwait(false);

            var reader = new FrameReader(ssl);
            Frame answer = await reader.ReadAsync(ct).ConfigureAwait(false)
                ?? throw new SteerProtocolException($"Gateway '{gateway.Name}' closed the connection during the handshake.");
            switch (answer.Type)
            {
                case FrameType.Welcome:
                    ServerWelcome welcome = HandshakeCodec.DecodeWelcome(answer.Payload.Span);
                    SslStream result = ssl;
                    ssl = null;
                    return (result, reader, welcome);
                case FrameType.Error:
                    ErrorMessage error = HandshakeCodec.DecodeError(answer.Payload.Span);
                    throw new PeerErrorException(error.Code, error.Message);
                default:
                    throw new SteerProtocolException($"Gateway '{gateway.Name}' answered Hello with a {answer.Type} frame; expected Welcome or Error.");
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Gateway '{gateway.Name}' ({gateway.Address}:{gateway.Port}) did not complete the handshake within {timeout.TotalSeconds:0.#} s.");
        }
        finally
        {
            socket?.Dispose();
            if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task ConnectSocketAsync(Socket socket, GatewayEndpoint gateway, CancellationToken ct)
    {
        try
        {
            if (IPAddress.TryParse(gateway.Address, out IPAddress? ip))
            {
                await socket.ConnectAsync(new IPEndPoint(ip, gateway.Port), ct).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(gateway.Address, gateway.Port, ct).ConfigureAwait(false);
            }
        }
        catch (SocketException ex)
        {
            throw new SocketException((int)ex.SocketErrorCode, $"Cannot reach gateway '{gateway.Name}' at {gateway.Address}:{gateway.Port}: {ex.Message}");
        }
    }
}
