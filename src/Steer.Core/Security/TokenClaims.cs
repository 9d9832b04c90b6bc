namespace Steer.Security;

/// <summary>The claims of a client token that passed <see cref="TokenValidator.Validate"/>.</summary>
public sealed class TokenClaims
{
    /// <summary>The tenant the token was issued for (claim <c>tenant</c>).</summary>
    public required string Tenant { get; init; }

    /// <summary>The user identity (claim <c>sub</c>).</summary>
    public required string Subject { get; init; }

    /// <summary>When the token was issued (claim <c>iat</c>, whole seconds).</summary>
    public required DateTimeOffset IssuedAt { get; init; }

    /// <summary>When the token expires (claim <c>exp</c>, whole seconds).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The unique token identifier (claim <c>jti</c>).</summary>
    public required string TokenId { get; init; }
}
