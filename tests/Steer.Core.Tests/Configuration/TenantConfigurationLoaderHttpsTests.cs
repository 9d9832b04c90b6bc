using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Steer.Configuration;
using Steer.Security;
using Xunit;

namespace Steer.Core.Tests.Configuration;

public sealed class TenantConfigurationLoaderHttpsTests : IDisposable
{
    private static readonly TimeSpan s_testTimeout = TimeSpan.FromSeconds(60);
    private readonly X509Certificate2 _certificate = GatewayIdentity.CreateSelfSigned("config-server", ["127.0.0.1"]);

    public void Dispose() => _certificate.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LoadUrlAsync_CorrectPin_LoadsConfiguration()
    {
        await using var server = TinyHttpsServer.Start(_certificate, TestDocuments.Full);

        TenantConfiguration config = await TenantConfigurationLoader
            .LoadUrlAsync(server.Url(), CertificatePin.Compute(_certificate), "acme", Ct)
            .WaitAsync(s_testTimeout, Ct);

        Assert.Equal("acme", config.Tenant);
        Assert.Equal("lab-1", config.Gateways[0].Name);
        Assert.Equal("GET /v1/tenant.json HTTP/1.1", server.LastRequestLine);
    }

    [Fact]
    public async Task LoadUrlAsync_WrongPin_PinMismatchNamingBothPins()
    {
        await using var server = TinyHttpsServer.Start(_certificate, TestDocuments.Full);
        string wrongPin = TestDocuments.PinA;

        PinMismatchException ex = await Assert.ThrowsAsync<PinMismatchException>(
            () => TenantConfigurationLoader.LoadUrlAsync(server.Url(), wrongPin, Ct).WaitAsync(s_testTimeout, Ct));

        string presented = CertificatePin.Compute(_certificate);
        Assert.Equal(presented, ex.PresentedPin);
        Assert.Equal([wrongPin], ex.ExpectedPins);
        Assert.Contains(presented, ex.Message, StringComparison.Ordinal);
        Assert.Contains(wrongPin, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{server.Port}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.RequestCount);
    }

    [Fact]
    public async Task LoadUrlAsync_NoPinAndSelfSignedCertificate_RefusedBySystemTrust()
    {
        await using var server = TinyHttpsServer.Start(_certificate, TestDocuments.Full);

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadUrlAsync(server.Url(), serverPin: null, Ct).WaitAsync(s_testTimeout, Ct));

        Assert.StartsWith($"Could not load tenant configuration '{server.Url()}': ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.RequestCount);
    }

    [Fact]
    public async Task LoadUrlAsync_TenantMismatch_Refused()
    {
        await using var server = TinyHttpsServer.Start(_certificate, TestDocuments.Minimal("globex"));

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadUrlAsync(server.Url(), CertificatePin.Compute(_certificate), "acme", Ct).WaitAsync(s_testTimeout, Ct));

        Assert.Equal("tenant", ex.JsonPath);
        Assert.Equal(server.Url().AbsoluteUri, ex.ConfigurationSource);
        Assert.Contains("'globex'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'acme'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadUrlAsync_Http404_NamesUrlAndStatus()
    {
        await using var server = TinyHttpsServer.Start(_certificate, "{}", status: 404);

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadUrlAsync(server.Url(), CertificatePin.Compute(_certificate), Ct).WaitAsync(s_testTimeout, Ct));

        Assert.Equal($"Could not load tenant configuration '{server.Url()}': the server answered HTTP 404 (Not Found)", ex.Message);
    }

    [Fact]
    public async Task LoadUrlAsync_InvalidDocument_MessageNamesUrlAndField()
    {
        await using var server = TinyHttpsServer.Start(_certificate, TestDocuments.With("gateways/0/pins/0", "\"sha256/nope\""));

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadUrlAsync(server.Url(), CertificatePin.Compute(_certificate), Ct).WaitAsync(s_testTimeout, Ct));

        Assert.StartsWith($"Tenant configuration '{server.Url()}' is invalid: gateways[0].pins[0]: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadUrlAsync_NoAnswer_TimesOutNamingUrl()
    {
        await using var server = TinyHttpsServer.Start(_certificate, TestDocuments.Full, answer: false);

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadUrlCoreAsync(server.Url(), CertificatePin.Compute(_certificate), null, TimeSpan.FromSeconds(1), Ct)
                .WaitAsync(s_testTimeout, Ct));

        Assert.Equal($"Could not load tenant configuration '{server.Url()}': no complete answer within 1 seconds (timed out)", ex.Message);
    }

    [Fact]
    public async Task LoadUrlAsync_CallerCancels_OperationCanceled()
    {
        await using var server = TinyHttpsServer.Start(_certificate, TestDocuments.Full, answer: false);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => TenantConfigurationLoader.LoadUrlAsync(server.Url(), CertificatePin.Compute(_certificate), cts.Token).WaitAsync(s_testTimeout, Ct));
    }

    [Fact]
    public async Task LoadUrlAsync_ConnectionRefused_NamesUrl()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var url = new Uri($"https://127.0.0.1:{port}/v1/tenant.json");

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadUrlAsync(url, serverPin: null, Ct).WaitAsync(s_testTimeout, Ct));

        Assert.StartsWith($"Could not load tenant configuration '{url}': ", ex.Message, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task LoadUrlAsync_PlainHttpOnLoopback_Allowed()
    {
        await using var server = TinyHttpsServer.Start(certificate: null, TestDocuments.Full);

        TenantConfiguration config = await TenantConfigurationLoader.LoadUrlAsync(server.Url(), serverPin: null, Ct).WaitAsync(s_testTimeout, Ct);

        Assert.StartsWith("http://", server.Url().AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal("acme", config.Tenant);
    }

    [Theory]
    [InlineData("http://config.example.net/v1/tenant.json")]
    [InlineData("http://198.51.100.7/v1/tenant.json")]
    [InlineData("ftp://127.0.0.1/v1/tenant.json")]
    public async Task LoadUrlAsync_NotHttpsAndNotLoopback_RefusedBeforeConnecting(string url)
    {
        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadUrlAsync(new Uri(url), serverPin: null, Ct));

        Assert.Contains(url, ex.Message, StringComparison.Ordinal);
        Assert.Contains("only https:// URLs are allowed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadUrlAsync_MalformedPin_ArgumentException()
    {
        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(
            () => TenantConfigurationLoader.LoadUrlAsync(new Uri("https://127.0.0.1:1/x"), "sha256/short", Ct));

        Assert.Contains("44 characters", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadTenantAsync_TemplateToLocalServer_DerivesUrlAndChecksTenant()
    {
        await using var server = TinyHttpsServer.Start(_certificate, TestDocuments.Full);
        string template = $"https://127.0.0.1:{server.Port}/tenants/{{tenant}}.json";

        TenantConfiguration config = await TenantConfigurationLoader
            .LoadTenantAsync("acme", CertificatePin.Compute(_certificate), template, Ct)
            .WaitAsync(s_testTimeout, Ct);

        Assert.Equal("acme", config.Tenant);
        Assert.Equal("GET /tenants/acme.json HTTP/1.1", server.LastRequestLine);
    }
}
