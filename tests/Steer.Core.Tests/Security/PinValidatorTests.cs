using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Steer.Configuration;
using Steer.Security;
using Xunit;

namespace Steer.Core.Tests.Security;

public sealed class PinValidatorTests
{
    private const string OtherPin = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    [Fact]
    public void Callback_MatchingPinWithChainAndNameErrors_Accepts()
    {
        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(CertificatePinTests.FixedEcCertificatePem);
        var validator = new PinValidator([OtherPin, CertificatePinTests.FixedEcCertificatePin]);

        bool accepted = validator.CreateCallback()(
            this, certificate, chain: null, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch);

        Assert.True(accepted);
        Assert.False(validator.IsMismatch);
        Assert.Equal(CertificatePinTests.FixedEcCertificatePin, validator.PresentedPin);
    }

    [Fact]
    public void Callback_OtherPinWithoutPolicyErrors_RejectsAndRecordsPresentedPin()
    {
        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(CertificatePinTests.FixedRsaCertificatePem);
        var validator = new PinValidator([CertificatePinTests.FixedEcCertificatePin]);

        bool accepted = validator.CreateCallback()(this, certificate, chain: null, SslPolicyErrors.None);

        Assert.False(accepted);
        Assert.True(validator.IsMismatch);
        Assert.Equal(CertificatePinTests.FixedRsaCertificatePin, validator.PresentedPin);
    }

    [Fact]
    public void Validate_NoCertificate_RejectsWithoutMismatch()
    {
        var validator = new PinValidator([OtherPin]);

        Assert.False(validator.Validate(null));
        Assert.False(validator.IsMismatch);
        Assert.Null(validator.PresentedPin);
    }

    [Fact]
    public void Validate_PlainX509Certificate_ComputesPin()
    {
        using X509Certificate2 source = X509Certificate2.CreateFromPem(CertificatePinTests.FixedEcCertificatePem);
#pragma warning disable SYSLIB0057 // a plain X509Certificate, as older callers may pass
        using var plain = new X509Certificate(source.RawData);
#pragma warning restore SYSLIB0057
        var validator = new PinValidator([CertificatePinTests.FixedEcCertificatePin]);

        Assert.True(validator.Validate(plain));
    }

    [Fact]
    public void Constructor_NoPins_Throws()
    {
        Assert.Throws<ArgumentException>(() => new PinValidator([]));
    }

    [Fact]
    public void Constructor_MalformedPin_ThrowsNamingThePin()
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(() => new PinValidator(["sha256/short"]));

        Assert.Contains("sha256/short", ex.Message, StringComparison.Ordinal);
        Assert.Contains("44 characters", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForGateway_Message_NamesGatewayEndpointAndBothPins()
    {
        var gateway = new GatewayEndpoint { Name = "lab-1", Address = "198.18.1.1", Port = 443, Pins = [CertificatePinTests.FixedEcCertificatePin] };
        var inner = new AuthenticationException("handshake failed");

        PinMismatchException ex = PinMismatchException.ForGateway(gateway, OtherPin, inner);

        Assert.Equal(
            $"Gateway 'lab-1' (198.18.1.1:443) presented certificate key pin {OtherPin}, which is not in the tenant configuration " +
            $"(expected {CertificatePinTests.FixedEcCertificatePin}). Refusing to connect.",
            ex.Message);
        Assert.IsAssignableFrom<AuthenticationException>(ex);
        Assert.Equal([CertificatePinTests.FixedEcCertificatePin], ex.ExpectedPins);
        Assert.Equal(OtherPin, ex.PresentedPin);
        Assert.Same(inner, ex.InnerException);
    }

    [Fact]
    public void ForGateway_IPv6AndSeveralPins_BracketsAddressAndListsPins()
    {
        var gateway = new GatewayEndpoint { Name = "v6", Address = "2001:db8::1", Port = 8443, Pins = [CertificatePinTests.FixedEcCertificatePin, CertificatePinTests.FixedRsaCertificatePin] };

        PinMismatchException ex = PinMismatchException.ForGateway(gateway, OtherPin);

        Assert.Contains("([2001:db8::1]:8443)", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"one of {CertificatePinTests.FixedEcCertificatePin}, {CertificatePinTests.FixedRsaCertificatePin}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SslStream_MatchingPin_HandshakeSucceedsDespiteSelfSignedCertificate()
    {
        using X509Certificate2 serverCertificate = GatewayIdentity.CreateSelfSigned("lab-1", ["127.0.0.1"]);
        var validator = new PinValidator([CertificatePin.Compute(serverCertificate)]);

        (Exception? client, Exception? server) = await HandshakeAsync(serverCertificate, validator);

        Assert.Null(client);
        Assert.Null(server);
        Assert.False(validator.IsMismatch);
    }

    [Fact]
    public async Task SslStream_WrongPin_HandshakeFailsAndValidatorReportsMismatch()
    {
        using X509Certificate2 serverCertificate = GatewayIdentity.CreateSelfSigned("lab-1", ["127.0.0.1"]);
        var validator = new PinValidator([OtherPin]);

        (Exception? client, _) = await HandshakeAsync(serverCertificate, validator);

        Assert.IsAssignableFrom<AuthenticationException>(client);
        Assert.True(validator.IsMismatch);
        Assert.Equal(CertificatePin.Compute(serverCertificate), validator.PresentedPin);
    }

    internal static async Task<(Exception? Client, Exception? Server)> HandshakeAsync(X509Certificate2 serverCertificate, PinValidator validator)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        async Task<Exception?> ServerAsync()
        {
            try
            {
                using TcpClient accepted = await listener.AcceptTcpClientAsync(ct);
                await using var ssl = new SslStream(accepted.GetStream());
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = serverCertificate }, ct);
                await ssl.WriteAsync("ok"u8.ToArray(), ct);
                await ssl.FlushAsync(ct);
                return null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return ex;
            }
        }

        async Task<Exception?> ClientAsync()
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
                await using var ssl = new SslStream(tcp.GetStream());
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions { TargetHost = "lab-1", RemoteCertificateValidationCallback = validator.CreateCallback() }, ct);
                byte[] buffer = new byte[2];
                await ssl.ReadExactlyAsync(buffer, ct);
                Assert.Equal("ok"u8.ToArray(), buffer);
                return null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return ex;
            }
        }

        Task<Exception?> server = ServerAsync();
        Task<Exception?> client = ClientAsync();
        await Task.WhenAll(server, client).WaitAsync(TimeSpan.FromSeconds(30), ct);
        return (await client, await server);
    }
}
