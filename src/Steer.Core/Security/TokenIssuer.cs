using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Steer.Configuration;

namespace Steer.Security;

/// <summary>
/// Issues the client tokens a gateway verifies offline: compact JWS (RFC 7515) signed with ES256, carrying the
/// claims <c>tenant</c>, <c>sub</c>, <c>iat</c>, <c>exp</c> and <c>jti</c>.
/// </summary>
/// <remarks>
/// The JWS is written by hand: ES256 compact serialization is some 60 lines over <see cref="ECDsa"/>, and a JWT
/// library would add a dependency (and reflection-based JSON) for nothing else. See <see cref="TokenValidator"/>.
/// </remarks>
public sealed class TokenIssuer
{
    /// <summary>base64url of <c>{"alg":"ES256","typ":"JWT"}</c>, the only header Steer issues.</summary>
    internal static readonly string EncodedHeader = Base64Url.EncodeToString(
        JsonSerializer.SerializeToUtf8Bytes(new TokenHeader { Algorithm = TokenValidator.Algorithm, Type = "JWT" }, TokenJsonContext.Default.TokenHeader));

    private readonly ECDsa _privateKey;

    /// <summary>Creates an issuer that signs with <paramref name="privateKey"/>.</summary>
    /// <param name="privateKey">A P-256 private key (see <see cref="TokenSigningKey"/>); not disposed by the issuer.</param>
    /// <exception cref="ArgumentException">The key is not a P-256 key.</exception>
    public TokenIssuer(ECDsa privateKey)
    {
        TokenSigningKey.ThrowIfNotP256(privateKey, nameof(privateKey));
        _privateKey = privateKey;
    }

    /// <summary>Issues a token.</summary>
    /// <param name="tenant">The tenant name; must be a valid tenant name.</param>
    /// <param name="subject">The user identity, for example an e-mail address.</param>
    /// <param name="lifetime">How long the token is valid; positive.</param>
    /// <param name="time">The clock; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <returns>The token: <c>header.payload.signature</c>, each part base64url without padding.</returns>
    public string Issue(string tenant, string subject, TimeSpan lifetime, TimeProvider? time = null)
    {
        if (!TenantConfiguration.IsValidTenantName(tenant))
        {
            throw new ArgumentException($"Tenant name '{tenant}' {TenantConfiguration.TenantNameRule}.", nameof(tenant));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(subject);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);

        long now = (time ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();
        var payload = new TokenPayload
        {
            Tenant = tenant,
            Subject = subject,
            IssuedAt = now,
            ExpiresAt = checked(now + (long)Math.Ceiling(lifetime.TotalSeconds)),
            TokenId = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
        };

        string signingInput = EncodedHeader + "." +
            Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(payload, TokenJsonContext.Default.TokenPayload));
        byte[] signature = _privateKey.SignData(
            Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }
}
