using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Steer.Security;
using Xunit;

namespace Steer.Core.Tests.Security;

public sealed class CertificatePinTests
{
    // Made once with: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=pin-fixture -days 36500
    internal const string FixedEcCertificatePem = """
        -----BEGIN CERTIFICATE-----
        MIIBgjCCASmgAwIBAgIUDsQV5RUKvjeag16AABtlyOJc6YYwCgYIKoZIzj0EAwIw
        FjEUMBIGA1UEAwwLcGluLWZpeHR1cmUwIBcNMjYxMTI1MDEwOTQ3WhgPMjEyNjEx
        MDEwMTA5NDdaMBYxFDASBgNVBAMMC3Bpbi1maXh0dXJlMFkwEwYHKoZIzj0CAQYI
        KoZIzj0DAQcDQgAEWXEkuR9571OvKLeRWts8qUsYGmlgDyBUimMC+Ix2gKTfoAeN
        EzSP9/0tvjlPR0An1KMxNFT2/+p6EjHektIqFaNTMFEwHQYDVR0OBBYEFLnW0C+x
        nSV33bt834SfiYnOz03pMB8GA1UdIwQYMBaAFLnW0C+xnSV33bt834SfiYnOz03p
        MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgA7KqpKoTJzASGHqx
        FZkHuKwBscfUit8M8d1iVx7rWd8CIA3oz7M8TVoMYu39kaT4CLqmjnvWPvTPzNBy
        g20kx0AF
        -----END CERTIFICATE-----
        """;

    // openssl x509 -in fixed.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
    internal const string FixedEcCertificatePin = "sha256/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw=";

    // Made once with: openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pin-fixture-rsa -days 36500
    internal const string FixedRsaCertificatePem = """
        -----BEGIN CERTIFICATE-----
        MIIDFzCCAf+gAwIBAgIUB8hLA0L9nouKqtmgLRObCMC7kE0wDQYJKoZIhvcNAQEL
        BQAwGjEYMBYGA1UEAwwPcGluLWZpeHR1cmUtcnNhMCAXDTI2MTEyNTAxMDk0N1oY
        DzIxMjYxMTAxMDEwOTQ3WjAaMRgwFgYDVQQDDA9waW4tZml4dHVyZS1yc2EwggEi
        MA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQClBwPDz0aKLcW/QPwmtUErfKPQ
        AT6kwyegcX90EIIkLbYg0AfuueWOTq06A+J7ElJWGmqQA66eGg3G2lM/sNB7UdL5
        qYA7U7ob/CQq6XkM+ii3ttNiHc7Xr0Eya8+AtMj9r5ozt0GNspybl/6srnzUeE5L
        huN53UQ6rpHrIoj1PMDS9gbdZoGKViOzuOi5ZyP0eDTHiJCLQQWsh1HGrSOMF1Kp
        0TkbWUvJfZP7gg5Krcj387Q1KYaxp8QkF02T3PViTj6yFmrfM4Zi8k3wb151JLZV
        lrz1nYOYxW5J4fo2wkr0cZWdo/LguJ9fMt9JlaIObEtHxs7OIMIrQJgaJwfhAgMB
        AAGjUzBRMB0GA1UdDgQWBBRiH5XDSaPQFK5EHLBrjYn2AdIm/TAfBgNVHSMEGDAW
        gBRiH5XDSaPQFK5EHLBrjYn2AdIm/TAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3
        DQEBCwUAA4IBAQALt5wcHnoCfMxsibkmTd7Dcfqhi9EeqbRIkIKgpaAjDvxxz9dz
        NlWd5/twpMC8a7k8mi4PmbO1niAg9p8z1vj01sOWE8sD83pEPN6SHhiPMVrzgXBv
        M77I2+YVL6C9ujrm5U7kIcWMquQMTA48s6r2Fj6u0+hm/ZW4pLBoUa+IlUnFurpk
        S7i/JMhbjcAlH3r4Autp7QMaBDkCJ+YMz8KF6jetla5aZjtQHi+0i4FHQC2zfXSy
        XcrTWDSmCbe8sd9YsQq53+MWcw9NlGuJZsFu1MKrXWTja3gF2tGi4GjwSNCtRsay
        G2RpAApSvGH4Okkw7jDE9gewp5+JeoKwqdMi
        -----END CERTIFICATE-----
        """;

    internal const string FixedRsaCertificatePin = "sha256/5oXZCS/bRAw6aguinYbZB9zQH3gtNcoRD7dTOUEl/T8=";

    [Fact]
    public void Compute_FixedEcCertificate_MatchesOpensslPin()
    {
        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(FixedEcCertificatePem);

        Assert.Equal(FixedEcCertificatePin, CertificatePin.Compute(certificate));
    }

    [Fact]
    public void Compute_FixedRsaCertificate_MatchesOpensslPin()
    {
        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(FixedRsaCertificatePem);

        Assert.Equal(FixedRsaCertificatePin, CertificatePin.Compute(certificate));
    }

    [Fact]
    public void Compute_GeneratedCertificate_IsSha256OfSubjectPublicKeyInfo()
    {
        using X509Certificate2 certificate = GatewayIdentity.CreateSelfSigned("compute-test");
        byte[] spki = certificate.PublicKey.ExportSubjectPublicKeyInfo();

        string pin = CertificatePin.Compute(certificate);

        Assert.Equal("sha256/" + Convert.ToBase64String(SHA256.HashData(spki)), pin);
        Assert.Equal(pin, CertificatePin.FromSubjectPublicKeyInfo(spki));
        Assert.True(CertificatePin.IsValidFormat(pin));
    }

    [Fact]
    public void Compute_TwoKeys_DifferentPins()
    {
        using X509Certificate2 a = GatewayIdentity.CreateSelfSigned("a");
        using X509Certificate2 b = GatewayIdentity.CreateSelfSigned("b");

        Assert.NotEqual(CertificatePin.Compute(a), CertificatePin.Compute(b));
    }

    [Theory]
    [InlineData(FixedEcCertificatePin)]
    [InlineData(FixedRsaCertificatePin)]
    [InlineData("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public void IsValidFormat_WellFormedPin_True(string pin)
    {
        Assert.True(CertificatePin.IsValidFormat(pin));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha256/")]
    [InlineData("8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw=")]
    [InlineData("sha1/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw=")]
    [InlineData("SHA256/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw=")]
    [InlineData("sha256/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw")]
    [InlineData("sha256/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw==")]
    [InlineData("sha256/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszq!=")]
    [InlineData("sha256/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCsz w=")]
    [InlineData("sha256/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqx=")] // non-canonical: unused bits set
    [InlineData("sha256/8EYAYeBb-pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw=")] // base64url, not base64
    [InlineData(" sha256/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw=")]
    public void IsValidFormat_MalformedPin_False(string? pin)
    {
        Assert.False(CertificatePin.IsValidFormat(pin));
    }
}
