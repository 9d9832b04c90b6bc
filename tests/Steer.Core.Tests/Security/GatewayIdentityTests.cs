using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Steer.Security;
using Xunit;

namespace Steer.Core.Tests.Security;

public sealed class GatewayIdentityTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("steer-identity-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void CreateSelfSigned_Defaults_P256ServerCertificateValidTwoYears()
    {
        var now = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

        using X509Certificate2 certificate = GatewayIdentity.CreateSelfSigned("lab-1", ["198.18.1.1", "gw.example.net"], new FixedTimeProvider(now));

        Assert.Equal("CN=lab-1", certificate.Subject);
        Assert.Equal(certificate.Subject, certificate.Issuer);
        Assert.True(certificate.HasPrivateKey);
        using ECDsa? publicKey = certificate.GetECDsaPublicKey();
        Assert.NotNull(publicKey);
        Assert.Equal(256, publicKey.KeySize);
        Assert.Equal("1.2.840.10045.3.1.7", publicKey.ExportParameters(false).Curve.Oid.Value);
        Assert.True(certificate.NotBefore.ToUniversalTime() <= now.UtcDateTime);
        Assert.True(certificate.NotBefore.ToUniversalTime() > now.UtcDateTime.AddHours(-2));
        Assert.Equal(730, Math.Round((certificate.NotAfter - certificate.NotBefore).TotalDays));

        X509SubjectAlternativeNameExtension san = Assert.Single(certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal([IPAddress.Parse("198.18.1.1")], san.EnumerateIPAddresses());
        Assert.Equal(["gw.example.net"], san.EnumerateDnsNames());
        X509BasicConstraintsExtension basic = Assert.Single(certificate.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.False(basic.CertificateAuthority);
        X509EnhancedKeyUsageExtension eku = Assert.Single(certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Contains(eku.EnhancedKeyUsages.Cast<Oid>(), o => o.Value == "1.3.6.1.5.5.7.3.1");
    }

    [Fact]
    public void CreateSelfSigned_NoAlternativeNames_UsesHostNameCommonName()
    {
        using X509Certificate2 certificate = GatewayIdentity.CreateSelfSigned("gw1.example.net");

        X509SubjectAlternativeNameExtension san = Assert.Single(certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["gw1.example.net"], san.EnumerateDnsNames());
    }

    [Fact]
    public void CreateSelfSigned_InvalidAlternativeName_Throws()
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(() => GatewayIdentity.CreateSelfSigned("lab-1", ["not a host!"]));

        Assert.Contains("not a host!", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SaveAndLoadPemFiles_RoundTrip_SameKeyAndCertificate()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string certPath = Path.Combine(_directory, "gateway.crt");
        string keyPath = Path.Combine(_directory, "gateway.key");
        using X509Certificate2 created = GatewayIdentity.CreateSelfSigned("lab-1", ["127.0.0.1"]);

        await GatewayIdentity.SavePemFilesAsync(created, certPath, keyPath, cancellationToken: ct);
        using X509Certificate2 loaded = await GatewayIdentity.LoadPemFilesAsync(certPath, keyPath, ct);

        Assert.StartsWith("-----BEGIN CERTIFICATE-----", await File.ReadAllTextAsync(certPath, ct), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(keyPath, ct), StringComparison.Ordinal);
        Assert.Equal(created.Thumbprint, loaded.Thumbprint);
        Assert.Equal(CertificatePin.Compute(created), CertificatePin.Compute(loaded));
        Assert.True(loaded.HasPrivateKey);

        // The loaded key is the certificate's key: a signature made with it verifies with the certificate.
        using ECDsa privateKey = loaded.GetECDsaPrivateKey()!;
        using ECDsa publicKey = created.GetECDsaPublicKey()!;
        byte[] signature = privateKey.SignData("data"u8, HashAlgorithmName.SHA256);
        Assert.True(publicKey.VerifyData("data"u8, signature, HashAlgorithmName.SHA256));

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        }
    }

    [Fact]
    public async Task LoadPemFiles_LoadedCertificate_WorksAsSslStreamServerCertificate()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string certPath = Path.Combine(_directory, "tls.crt");
        string keyPath = Path.Combine(_directory, "tls.key");
        using (X509Certificate2 created = GatewayIdentity.CreateSelfSigned("lab-1", ["127.0.0.1"]))
        {
            await GatewayIdentity.SavePemFilesAsync(created, certPath, keyPath, cancellationToken: ct);
        }

        using X509Certificate2 loaded = await GatewayIdentity.LoadPemFilesAsync(certPath, keyPath, ct);
        var validator = new PinValidator([CertificatePin.Compute(loaded)]);

        (Exception? client, Exception? server) = await PinValidatorTests.HandshakeAsync(loaded, validator);

        Assert.Null(server);
        Assert.Null(client);
    }

    [Fact]
    public async Task SavePemFiles_ExistingFile_RefusesToOverwrite()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string certPath = Path.Combine(_directory, "gateway.crt");
        string keyPath = Path.Combine(_directory, "gateway.key");
        await File.WriteAllTextAsync(keyPath, "keep me", ct);
        using X509Certificate2 created = GatewayIdentity.CreateSelfSigned("lab-1");

        IOException ex = await Assert.ThrowsAsync<IOException>(() => GatewayIdentity.SavePemFilesAsync(created, certPath, keyPath, cancellationToken: ct));

        Assert.Contains(keyPath, ex.Message, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(keyPath, ct));
        Assert.False(File.Exists(certPath));

        await GatewayIdentity.SavePemFilesAsync(created, certPath, keyPath, overwrite: true, cancellationToken: ct);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(keyPath, ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadPemFiles_MissingFile_NamesThePath()
    {
        string certPath = Path.Combine(_directory, "missing.crt");

        FileNotFoundException ex = await Assert.ThrowsAsync<FileNotFoundException>(
            () => GatewayIdentity.LoadPemFilesAsync(certPath, Path.Combine(_directory, "missing.key"), TestContext.Current.CancellationToken));

        Assert.Contains(certPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadPemFiles_KeyOfAnotherCertificate_InvalidDataNamingFiles()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string certPath = Path.Combine(_directory, "a.crt");
        string keyPath = Path.Combine(_directory, "b.key");
        using X509Certificate2 a = GatewayIdentity.CreateSelfSigned("a");
        using X509Certificate2 b = GatewayIdentity.CreateSelfSigned("b");
        await File.WriteAllTextAsync(certPath, GatewayIdentity.ExportCertificatePem(a), ct);
        await File.WriteAllTextAsync(keyPath, GatewayIdentity.ExportPrivateKeyPem(b), ct);

        InvalidDataException ex = await Assert.ThrowsAsync<InvalidDataException>(() => GatewayIdentity.LoadPemFilesAsync(certPath, keyPath, ct));

        Assert.Contains(certPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains(keyPath, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadPemFiles_GarbageCertificate_InvalidData()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string certPath = Path.Combine(_directory, "garbage.crt");
        string keyPath = Path.Combine(_directory, "garbage.key");
        using X509Certificate2 a = GatewayIdentity.CreateSelfSigned("a");
        await File.WriteAllTextAsync(certPath, "not a certificate", ct);
        await File.WriteAllTextAsync(keyPath, GatewayIdentity.ExportPrivateKeyPem(a), ct);

        await Assert.ThrowsAsync<InvalidDataException>(() => GatewayIdentity.LoadPemFilesAsync(certPath, keyPath, ct));
    }
}
