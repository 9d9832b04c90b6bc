using System.Text.Json.Serialization;

namespace Steer.Security;

/// <summary>The JOSE header of a token.</summary>
internal sealed class TokenHeader
{
    [JsonPropertyName("alg")]
    public string? Algorithm { get; set; }

    [JsonPropertyName("typ")]
    public string? Type { get; set; }
}

/// <summary>The claims set of a token, as serialized.</summary>
internal sealed class TokenPayload
{
    [JsonPropertyName("tenant")]
    public string? Tenant { get; set; }

    [JsonPropertyName("sub")]
    public string? Subject { get; set; }

    [JsonPropertyName("iat")]
    public long? IssuedAt { get; set; }

    [JsonPropertyName("exp")]
    public long? ExpiresAt { get; set; }

    [JsonPropertyName("jti")]
    public string? TokenId { get; set; }
}

/// <summary>Source-generated (reflection-free, AOT-safe) serialization of token headers and payloads.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TokenHeader))]
[JsonSerializable(typeof(TokenPayload))]
internal sealed partial class TokenJsonContext : JsonSerializerContext
{
}
