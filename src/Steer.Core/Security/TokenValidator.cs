using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Steer.Security;

/// <summary>
/// Verifies client tokens made by <see cref="TokenIssuer"/> offline, with the issuer's public key: an ES256 compact
/// JWS whose claims name the expected tenant and whose validity period contains the current time.
/// </summary>
/// <remarks>
/// Hand-written rather than a JWT library (see <see cref="TokenIssuer"/>). Only <c>alg</c> ES256 is accepted, so
/// <c>none</c> and algorithm-confusion attacks do not apply. Any input, however broken, either validates or throws
/// <see cref="TokenValidationException"/>.
/// </remarks>
public sealed class TokenValidator
{
    /// <summary>The only JWS algorithm accepted: ECDSA P-256 with SHA-256.</summary>
    public const string Algorithm = "ES256";

    /// <summary>The longest token accepted, in characters; longer input is <see cref="TokenValidationFailure.Malformed"/>.</summary>
    public const int MaxTokenLength = 4096;

    private const int SignatureLength = 64;
    private readonly ECDsa _publicKey;
    private readonly TimeSpan _clockSkew = TimeSpan.FromMinutes(1);

    /// <summary>Creates a validator that verifies signatures with <paramref name="publicKey"/>.</summary>
    /// <param name="publicKey">The issuer's P-256 public key (see <see cref="TokenSigningKey"/>); not disposed by the validator.</param>
    /// <exception cref="ArgumentException">The key is not a P-256 key.</exception>
    public TokenValidator(ECDsa publicKey)
    {
        TokenSigningKey.ThrowIfNotP256(publicKey, nameof(publicKey));
        _publicKey = publicKey;
    }

    /// <summary>How far the issue and expiry times may be off because of clock differences.</summary>
    /// <remarks>Defaults to one minute.</remarks>
    public TimeSpan ClockSkew
    {
        get => _clockSkew;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _clockSkew = value;
        }
    }

    /// <summary>Validates a token.</summary>
    /// <param name="token">The token the client presented; may be null.</param>
    /// <param name="expectedTenant">The tenant this gateway serves.</param>
    /// <param name="now">The current time.</param>
    /// <returns>The token's claims.</returns>
    /// <exception cref="TokenValidationException">The token is refused; <see cref="TokenValidationException.Reason"/> says why.</exception>
    public TokenClaims Validate(string? token, string expectedTenant, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(expectedTenant);
        if (string.IsNullOrWhiteSpace(token))
        {
            throw Fail(TokenValidationFailure.Missing, "No token was presented.");
        }

        if (token.Length > MaxTokenLength)
        {
            throw Fail(TokenValidationFailure.Malformed, $"The token is longer than {MaxTokenLength} characters.");
        }

        int firstDot = token.IndexOf('.', StringComparison.Ordinal);
        int lastDot = token.LastIndexOf('.');
        if (firstDot < 0 || lastDot == firstDot || token.AsSpan(firstDot + 1, lastDot - firstDot - 1).Contains('.'))
        {
            throw Fail(TokenValidationFailure.Malformed, "The token is not a compact JWS: expected three base64url parts separated by '.'.");
        }

        byte[] headerBytes = DecodePart(token.AsSpan(0, firstDot), "header");
        byte[] payloadBytes = DecodePart(token.AsSpan(firstDot + 1, lastDot - firstDot - 1), "payload");
        byte[] signature = DecodePart(token.AsSpan(lastDot + 1), "signature");

        TokenHeader header = Deserialize(headerBytes, TokenJsonContext.Default.TokenHeader, "header");
        if (header.Algorithm != Algorithm)
        {
            throw Fail(TokenValidationFailure.Malformed, $"The token's algorithm is '{header.Algorithm ?? "(none)"}': only {Algorithm} is accepted.");
        }

        if (signature.Length != SignatureLength)
        {
            throw Fail(TokenValidationFailure.BadSignature, $"The token's signature is {signature.Length} bytes: an {Algorithm} signature is {SignatureLength}.");
        }

        bool verified;
        try
        {
            verified = _publicKey.VerifyData(
                Encoding.ASCII.GetBytes(token, 0, lastDot), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            verified = false;
        }

        if (!verified)
        {
            throw Fail(TokenValidationFailure.BadSignature, "The token's signature does not verify with the token public key: it was altered or signed by another key.");
        }

        TokenPayload payload = Deserialize(payloadBytes, TokenJsonContext.Default.TokenPayload, "payload");
        string tenant = RequireString(payload.Tenant, "tenant");
        string subject = RequireString(payload.Subject, "sub");
        string tokenId = RequireString(payload.TokenId, "jti");
        DateTimeOffset issuedAt = RequireTime(payload.IssuedAt, "iat");
        DateTimeOffset expiresAt = RequireTime(payload.ExpiresAt, "exp");

        if (!string.Equals(tenant, expectedTenant, StringComparison.Ordinal))
        {
            throw Fail(TokenValidationFailure.WrongTenant, $"The token was issued for tenant '{tenant}', but this gateway serves tenant '{expectedTenant}'.");
        }

        // Compared in whole seconds as long: no DateTimeOffset overflow whatever the claims or the clock say.
        long nowSeconds = now.ToUnixTimeSeconds();
        long skewSeconds = (long)ClockSkew.TotalSeconds;
        if (payload.IssuedAt!.Value - skewSeconds > nowSeconds)
        {
            throw Fail(TokenValidationFailure.NotYetValid, $"The token is not valid yet: it was issued at {issuedAt:u}, which is in the future (now {now.ToUniversalTime():u}). Check the clocks.");
        }

        if (payload.ExpiresAt!.Value + skewSeconds <= nowSeconds)
        {
            throw Fail(TokenValidationFailure.Expired, $"The token expired at {expiresAt:u} (now {now.ToUniversalTime():u}). Get a new token.");
        }

        return new TokenClaims { Tenant = tenant, Subject = subject, IssuedAt = issuedAt, ExpiresAt = expiresAt, TokenId = tokenId };
    }

    private static TokenValidationException Fail(TokenValidationFailure reason, string message, Exception? inner = null) =>
        new(reason, message, inner);

    private static byte[] DecodePart(ReadOnlySpan<char> part, string name)
    {
        foreach (char c in part)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_'))
            {
                throw Fail(TokenValidationFailure.Malformed, $"The token's {name} is not base64url: it contains '{(char.IsControl(c) ? '?' : c)}'.");
            }
        }

        if (part.IsEmpty || part.Length % 4 == 1)
        {
            throw Fail(TokenValidationFailure.Malformed, $"The token's {name} is empty or has an invalid base64url length.");
        }

        byte[] buffer = new byte[Base64Url.GetMaxDecodedLength(part.Length)];
        int written;
        try
        {
            // TryDecodeFromChars throws FormatException rather than returning false for some invalid input.
            if (!Base64Url.TryDecodeFromChars(part, buffer, out written))
            {
                throw Fail(TokenValidationFailure.Malformed, $"The token's {name} is not valid base64url.");
            }
        }
        catch (FormatException ex)
        {
            throw Fail(TokenValidationFailure.Malformed, $"The token's {name} is not valid base64url.", ex);
        }

        return written == buffer.Length ? buffer : buffer.AsSpan(0, written).ToArray();
    }

    private static T Deserialize<T>(byte[] utf8Json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, string name)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, typeInfo)
                ?? throw Fail(TokenValidationFailure.Malformed, $"The token's {name} is not a JSON object.");
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException or NotSupportedException or FormatException or OverflowException)
        {
            throw Fail(TokenValidationFailure.Malformed, $"The token's {name} is not a valid JSON object of the expected shape.", ex);
        }
    }

    private static string RequireString(string? value, string claim) =>
        string.IsNullOrEmpty(value)
            ? throw Fail(TokenValidationFailure.Malformed, $"The token has no '{claim}' claim.")
            : value;

    private static DateTimeOffset RequireTime(long? value, string claim)
    {
        if (value is not long seconds)
        {
            throw Fail(TokenValidationFailure.Malformed, $"The token has no '{claim}' claim.");
        }

        if (seconds < 0 || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            throw Fail(TokenValidationFailure.Malformed, $"The token's '{claim}' claim ({seconds}) is not a valid time.");
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds);
    }
}
