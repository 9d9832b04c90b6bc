using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Steer.Security;
using Xunit;

namespace Steer.Core.Tests.Security;

public sealed class TokenValidatorTests : IDisposable
{
    private static readonly DateTimeOffset s_issuedAt = new(2030, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly ECDsa _key = TokenSigningKey.Create();
    private readonly TokenIssuer _issuer;
    private readonly TokenValidator _validator;

    public TokenValidatorTests()
    {
        _issuer = new TokenIssuer(_key);
        _validator = new TokenValidator(_key);
    }

    public void Dispose() => _key.Dispose();

    [Fact]
    public void Validate_FreshToken_ReturnsClaims()
    {
        string token = Issue();

        TokenClaims claims = _validator.Validate(token, "acme", s_issuedAt.AddMinutes(5));

        Assert.Equal("acme", claims.Tenant);
        Assert.Equal("alice@acme.example", claims.Subject);
        Assert.Equal(s_issuedAt, claims.IssuedAt);
        Assert.Equal(s_issuedAt.AddHours(1), claims.ExpiresAt);
        Assert.False(string.IsNullOrEmpty(claims.TokenId));
    }

    [Fact]
    public void Issue_Format_IsCompactEs256JwsWithTheClaims()
    {
        string token = Issue();

        string[] parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        using JsonDocument header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
        Assert.Equal("ES256", header.RootElement.GetProperty("alg").GetString());
        using JsonDocument payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        Assert.Equal("acme", payload.RootElement.GetProperty("tenant").GetString());
        Assert.Equal("alice@acme.example", payload.RootElement.GetProperty("sub").GetString());
        Assert.Equal(s_issuedAt.ToUnixTimeSeconds(), payload.RootElement.GetProperty("iat").GetInt64());
        Assert.Equal(s_issuedAt.AddHours(1).ToUnixTimeSeconds(), payload.RootElement.GetProperty("exp").GetInt64());
        Assert.Equal(64, Base64Url.DecodeFromChars(parts[2]).Length);
        Assert.DoesNotContain('=', token);
    }

    [Fact]
    public void Issue_TwoTokens_DifferentTokenIds()
    {
        TokenClaims a = _validator.Validate(Issue(), "acme", s_issuedAt);
        TokenClaims b = _validator.Validate(Issue(), "acme", s_issuedAt);

        Assert.NotEqual(a.TokenId, b.TokenId);
    }

    [Fact]
    public void Validate_TamperedPayload_BadSignature()
    {
        string[] parts = Issue().Split('.');
        string payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("alice@acme.example", "mallory@acme.example", StringComparison.Ordinal);
        string tampered = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(tampered, "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.BadSignature, ex.Reason);
    }

    [Fact]
    public void Validate_TamperedSignature_BadSignature()
    {
        string[] parts = Issue().Split('.');
        byte[] signature = Base64Url.DecodeFromChars(parts[2]);
        signature[10] ^= 0x01;
        string tampered = $"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(signature)}";

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(tampered, "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.BadSignature, ex.Reason);
    }

    [Fact]
    public void Validate_SignedByAnotherKey_BadSignature()
    {
        using ECDsa otherKey = TokenSigningKey.Create();
        string token = new TokenIssuer(otherKey).Issue("acme", "alice@acme.example", TimeSpan.FromHours(1), new FixedTimeProvider(s_issuedAt));

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.BadSignature, ex.Reason);
    }

    [Fact]
    public void Validate_AfterExpiry_Expired()
    {
        string token = Issue();

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "acme", s_issuedAt.AddHours(2)));

        Assert.Equal(TokenValidationFailure.Expired, ex.Reason);
        Assert.Contains("expired", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_JustAfterExpiryWithinClockSkew_Accepted()
    {
        string token = Issue();

        TokenClaims claims = _validator.Validate(token, "acme", s_issuedAt.AddHours(1).AddSeconds(30));

        Assert.Equal("acme", claims.Tenant);
    }

    [Fact]
    public void Validate_NoClockSkew_ExpiredAtExpiryTime()
    {
        var strict = new TokenValidator(_key) { ClockSkew = TimeSpan.Zero };

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => strict.Validate(Issue(), "acme", s_issuedAt.AddHours(1)));

        Assert.Equal(TokenValidationFailure.Expired, ex.Reason);
    }

    [Fact]
    public void Validate_IssuedInTheFuture_NotYetValid()
    {
        string token = Issue();

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "acme", s_issuedAt.AddMinutes(-10)));

        Assert.Equal(TokenValidationFailure.NotYetValid, ex.Reason);
    }

    [Fact]
    public void Validate_OtherTenant_WrongTenantNamingBoth()
    {
        string token = Issue();

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "globex", s_issuedAt));

        Assert.Equal(TokenValidationFailure.WrongTenant, ex.Reason);
        Assert.Contains("'acme'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'globex'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Validate_NoToken_Missing(string? token)
    {
        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.Missing, ex.Reason);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("..")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30.")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30.!!!!")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9==.e30.AAAA")]
    [InlineData("bm90IGpzb24.e30.AAAA")]
    public void Validate_Garbage_Malformed(string token)
    {
        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.Malformed, ex.Reason);
    }

    [Fact]
    public void Validate_AlgNone_MalformedEvenWithoutSignature()
    {
        string payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
            $$"""{"tenant":"acme","sub":"x","iat":{{s_issuedAt.ToUnixTimeSeconds()}},"exp":{{s_issuedAt.AddHours(1).ToUnixTimeSeconds()}},"jti":"j"}"""));
        string header = Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8);

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate($"{header}.{payload}.", "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.Malformed, ex.Reason);
    }

    [Theory]
    [InlineData("""{"sub":"x","iat":1906459200,"exp":1906462800,"jti":"j"}""", "tenant")]
    [InlineData("""{"tenant":"acme","iat":1906459200,"exp":1906462800,"jti":"j"}""", "sub")]
    [InlineData("""{"tenant":"acme","sub":"x","exp":1906462800,"jti":"j"}""", "iat")]
    [InlineData("""{"tenant":"acme","sub":"x","iat":1906459200,"jti":"j"}""", "exp")]
    [InlineData("""{"tenant":"acme","sub":"x","iat":1906459200,"exp":1906462800}""", "jti")]
    public void Validate_SignedButMissingClaim_MalformedNamingClaim(string payloadJson, string claim)
    {
        string token = SignRaw("""{"alg":"ES256","typ":"JWT"}""", payloadJson);

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.Malformed, ex.Reason);
        Assert.Contains($"'{claim}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"tenant":5,"sub":"x","iat":1906459200,"exp":1906462800,"jti":"j"}""")]
    [InlineData("""{"tenant":"acme","sub":"x","iat":1e300,"exp":1906462800,"jti":"j"}""")]
    [InlineData("""{"tenant":"acme","sub":"x","iat":-5,"exp":1906462800,"jti":"j"}""")]
    [InlineData("""{"tenant":"acme","sub":"x","iat":1906459200,"exp":99999999999999,"jti":"j"}""")]
    [InlineData("""[1,2,3]""")]
    [InlineData("""null""")]
    [InlineData("""{"tenant":"acme""")]
    public void Validate_SignedButInvalidPayload_Malformed(string payloadJson)
    {
        string token = SignRaw("""{"alg":"ES256","typ":"JWT"}""", payloadJson);

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.Malformed, ex.Reason);
    }

    [Fact]
    public void Validate_TooLong_Malformed()
    {
        string token = new('A', TokenValidator.MaxTokenLength + 1);

        TokenValidationException ex = Assert.Throws<TokenValidationException>(() => _validator.Validate(token, "acme", s_issuedAt));

        Assert.Equal(TokenValidationFailure.Malformed, ex.Reason);
    }

    [Fact]
    public void Validate_RandomInput_OnlyEverThrowsTokenValidationException()
    {
        var random = new Random(20300601);
        string valid = Issue();
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \0\u00e9{}\"";
        int accepted = 0;

        for (int i = 0; i < 3000; i++)
        {
            string input = (i % 4) switch
            {
                // Random characters from the token alphabet and around it.
                0 => new string(Enumerable.Range(0, random.Next(0, 300)).Select(_ => Alphabet[random.Next(Alphabet.Length)]).ToArray()),
                // A valid token with a few characters replaced.
                1 => Mutate(valid, random, Alphabet),
                // A valid token truncated or with its parts shuffled.
                2 => random.Next(2) == 0
                    ? valid[..random.Next(valid.Length)]
                    : string.Join('.', valid.Split('.').OrderBy(_ => random.Next())),
                // Random bytes as base64url parts, sometimes valid JSON, sometimes not.
                _ => string.Join('.', Enumerable.Range(0, 3).Select(_ => RandomPart(random))),
            };

            try
            {
                _validator.Validate(input, "acme", s_issuedAt);
                accepted++;
            }
            catch (TokenValidationException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"Input '{input}' threw {ex.GetType()}: {ex.Message}");
            }
        }

        // Truncation to the full length and identity shuffles can reproduce the valid token; nothing else can.
        Assert.True(accepted < 100, $"{accepted} random inputs were accepted");
    }

    private static string Mutate(string token, Random random, string alphabet)
    {
        char[] chars = token.ToCharArray();
        int changes = random.Next(1, 4);
        for (int c = 0; c < changes; c++)
        {
            chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
        }

        return new string(chars);
    }

    private static string RandomPart(Random random)
    {
        string[] jsonish = ["{}", "{\"alg\":\"ES256\"}", "{\"alg\":5}", "[]", "null", "{\"tenant\":\"acme\",\"iat\":\"x\"}", "\"str\"", "{\"a\":", "\u00ff\u00fe"];
        byte[] bytes = random.Next(3) == 0
            ? Encoding.UTF8.GetBytes(jsonish[random.Next(jsonish.Length)])
            : Enumerable.Range(0, random.Next(0, 80)).Select(_ => (byte)random.Next(256)).ToArray();
        return Base64Url.EncodeToString(bytes);
    }

    private string Issue() => _issuer.Issue("acme", "alice@acme.example", TimeSpan.FromHours(1), new FixedTimeProvider(s_issuedAt));

    private string SignRaw(string headerJson, string payloadJson)
    {
        string input = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(headerJson)) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson));
        byte[] signature = _key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return input + "." + Base64Url.EncodeToString(signature);
    }
}
