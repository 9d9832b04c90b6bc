using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Configuration;
using Steer.Protocol;
using Steer.Security;

namespace Steer.Core.Tests.Protocol;

/// <summary>The client handshake against a real TLS 1.3 server on loopback.</summary>
public sealed class TunnelConnectorTests : IDisposable
{
    private static readonly ClientHello Hello = new() { Tenant = "acme", Token = "tok", DeviceId = "dev" };
    private readonly X509Certificate2 _certificate = GatewayIdentity.CreateSelfSigned("test-gateway", ["127.0.0.1"]);
    private readonly X509Certificate2 _otherCertificate = GatewayIdentity.CreateSelfSigned("impostor", ["127.0.0.1"]);

    public void Dispose()
    {
        _certificate.Dispose();
        _otherCertificate.Dispose();
    }

    [Fact]
    public async Task Wrong_pin_is_refused_before_any_application_byte_is_sent()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var server = new FakeGateway(_otherCertificate, (_, _) => Task.CompletedTask);
        GatewayEndpoint gateway = Endpoint(server.Port, CertificatePin.Compute(_certificate));

        var error = await Assert.ThrowsAsync<PinMismatchException>(
            () => TunnelConnector.ConnectAsync(gateway, Hello, TimeSpan.FromSeconds(10), NullLogger.Instance, ct));

        Assert.Equal(CertificatePin.Compute(_otherCertificate), error.PresentedPin);
        Assert.Contains(CertificatePin.Compute(_otherCertificate), error.Message, StringComparison.Ordinal);
        Assert.Contains(CertificatePin.Compute(_certificate), error.Message, StringComparison.Ordinal);
        await server.Finished.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.Equal(0, server.ApplicationBytesReceived);
    }

    [Fact]
    public async Task Matching_pin_completes_the_handshake_and_returns_the_welcome()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var server = new FakeGateway(_certificate, async (ssl, token) =>
        {
            var reader = new FrameReader(ssl);
            Frame hello = (await reader.ReadAsync(token))!.Value;
            Assert.Equal(FrameType.Hello, hello.Type);
            Assert.Equal("acme", HandshakeCodec.DecodeHello(hello.Payload.Span).Tenant);
            await WriteFrame(ssl, FrameType.Welcome, HandshakeCodec.EncodeWelcome(new ServerWelcome
            {
                SessionId = "s1", GatewayName = "gw", Ipv4 = "100.64.0.9/24", Mtu = 1400, KeepaliveSeconds = 10,
            }), token);
        });

        var (stream, _, welcome) = await TunnelConnector.ConnectAsync(
            Endpoint(server.Port, CertificatePin.Compute(_certificate)), Hello, TimeSpan.FromSeconds(10), NullLogger.Instance, ct);

        await using (stream)
        {
            Assert.Equal("100.64.0.9/24", welcome.Ipv4);
            Assert.Equal(FrameCodec.Alpn, stream.NegotiatedApplicationProtocol.ToString());
            Assert.Equal(SslProtocols.Tls13, stream.SslProtocol);
        }
    }

    [Fact]
    public async Task Gateway_refusal_surfaces_its_code_and_message()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var server = new FakeGateway(_certificate, async (ssl, token) =>
        {
            await new FrameReader(ssl).ReadAsync(token);
            await WriteFrame(ssl, FrameType.Error, HandshakeCodec.EncodeError(GatewayErrorCodes.AuthenticationFailed, "token rejected: expired"), token);
        });

        var error = await Assert.ThrowsAsync<PeerErrorException>(() => TunnelConnector.ConnectAsync(
            Endpoint(server.Port, CertificatePin.Compute(_certificate)), Hello, TimeSpan.FromSeconds(10), NullLogger.Instance, ct));

        Assert.Equal(GatewayErrorCodes.AuthenticationFailed, error.Code);
        Assert.True(error.IsPermanent);
        Assert.Contains("expired", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_without_steer_alpn_is_not_a_gateway()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var server = new FakeGateway(_certificate, (_, _) => Task.CompletedTask, alpn: false);

        var error = await Assert.ThrowsAsync<SteerProtocolException>(() => TunnelConnector.ConnectAsync(
            Endpoint(server.Port, CertificatePin.Compute(_certificate)), Hello, TimeSpan.FromSeconds(10), NullLogger.Instance, ct));
        Assert.Contains("steer/1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silent_server_times_out_with_a_clear_message()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1); // accepts TCP (backlog) but never speaks TLS

        var error = await Assert.ThrowsAsync<TimeoutException>(() => TunnelConnector.ConnectAsync(
            Endpoint(((IPEndPoint)listener.LocalEndPoint!).Port, CertificatePin.Compute(_certificate)), Hello, TimeSpan.FromMilliseconds(500), NullLogger.Instance, ct));
        Assert.Contains("did not complete the handshake", error.Message, StringComparison.Ordinal);
    }

    private static GatewayEndpoint Endpoint(int port, string pin) => new() { Name = "test", Address = "127.0.0.1", Port = port, Pins = [pin] };

    private static async Task WriteFrame(Stream stream, FrameType type, byte[] payload, CancellationToken ct)
    {
        byte[] frame = new byte[4 + payload.Length];
        FrameCodec.WriteHeader(frame, type, payload.Length);
        payload.CopyTo(frame, 4);
        await stream.WriteAsync(frame, ct);
        await stream.FlushAsync(ct);
    }

    /// <summary>A one-connection TLS server that runs <c>script</c> after the handshake.</summary>
    private sealed class FakeGateway : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(30));

        public FakeGateway(X509Certificate2 certificate, Func<SslStream, CancellationToken, Task> script, bool alpn = true)
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            Finished = Task.Run(async () =>
            {
                using Socket client = await _listener.AcceptAsync(_stop.Token);
                var counting = new CountingStream(new NetworkStream(client, ownsSocket: false));
                await using var ssl = new SslStream(counting);
                try
                {
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = certificate,
                        ApplicationProtocols = alpn ? [new SslApplicationProtocol(FrameCodec.Alpn)] : null,
                    }, _stop.Token);
                }
                catch (Exception ex) when (ex is AuthenticationException or IOException)
                {
                    return; // The client hung up during TLS: what a pin mismatch looks like from here.
                }

                int handshakeBytes = counting.BytesRead;
                await script(ssl, _stop.Token);
                ApplicationBytesReceived = counting.BytesRead - handshakeBytes;
            });
        }

        public int Port { get; }

        public Task Finished { get; }

        /// <summary>Bytes the client sent after the TLS handshake (0 when it never got that far).</summary>
        public int ApplicationBytesReceived { get; private set; }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Dispose();
            _stop.Dispose();
        }
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public int BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += n;
            return n;
        }

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
