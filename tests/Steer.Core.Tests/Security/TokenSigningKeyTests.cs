using System.Security.Cryptography;
using Steer.Security;
using Xunit;

namespace Steer.Core.Tests.Security;

public sealed class TokenSigningKeyTests
{
    [Fact]
    public void ExportImport_PemRoundTrip_IssuerAndValidatorAgree()
    {
        using ECDsa original = TokenSigningKey.Create();
        string privatePem = TokenSigningKey.ExportPrivateKeyPem(original);
        string publicPem = TokenSigningKey.ExportPublicKeyPem(original);

        using ECDsa issuerKey = TokenSigningKey.ImportPrivateKeyPem(privatePem);
        using ECDsa validatorKey = TokenSigningKey.ImportPublicKeyPem(publicPem);
        string token = new TokenIssuer(issuerKey).Issue("acme", "bob", TimeSpan.FromMinutes(10));
        TokenClaims claims = new TokenValidator(validatorKey).Validate(token, "acme", DateTimeOffset.UtcNow);

        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", privatePem, StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", publicPem, StringComparison.Ordinal);
        Assert.Equal("bob", claims.Subject);
    }

    [Fact]
    public void ImportPublicKeyPem_PrivateKey_RefusedWithHint()
    {
        using ECDsa key = TokenSigningKey.Create();

        CryptographicException ex = Assert.Throws<CryptographicException>(() => TokenSigningKey.ImportPublicKeyPem(TokenSigningKey.ExportPrivateKeyPem(key)));

        Assert.Contains("PUBLIC KEY", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not pem at all")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")]
    public void ImportPublicKeyPem_Garbage_CryptographicException(string pem)
    {
        Assert.Throws<CryptographicException>(() => TokenSigningKey.ImportPublicKeyPem(pem));
    }

    [Fact]
    public void ImportPrivateKeyPem_P384Key_Refused()
    {
        using ECDsa p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        CryptographicException ex = Assert.Throws<CryptographicException>(() => TokenSigningKey.ImportPrivateKeyPem(p384.ExportPkcs8PrivateKeyPem()));

        Assert.Contains("P-256", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructors_NonP256Key_ArgumentException()
    {
        using ECDsa p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.Throws<ArgumentException>(() => new TokenIssuer(p384));
        Assert.Throws<ArgumentException>(() => new TokenValidator(p384));
    }

    [Theory]
    [InlineData("Acme")]
    [InlineData("")]
    [InlineData("a b")]
    public void Issue_InvalidTenant_ArgumentException(string tenant)
    {
        using ECDsa key = TokenSigningKey.Create();

        Assert.Throws<ArgumentException>(() => new TokenIssuer(key).Issue(tenant, "bob", TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void Issue_NonPositiveLifetime_Throws()
    {
        using ECDsa key = TokenSigningKey.Create();

        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenIssuer(key).Issue("acme", "bob", TimeSpan.Zero));
    }
}
