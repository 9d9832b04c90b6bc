namespace Steer.Security;

/// <summary>Why a client token was refused by <see cref="TokenValidator"/>.</summary>
public enum TokenValidationFailure
{
    /// <summary>No token was presented (null, empty or white space).</summary>
    Missing,

    /// <summary>The token is not a well-formed ES256 compact JWS with the required claims.</summary>
    Malformed,

    /// <summary>The signature does not verify with the gateway's token public key.</summary>
    BadSignature,

    /// <summary>The token's expiry time (<c>exp</c>) has passed.</summary>
    Expired,

    /// <summary>The token's issue time (<c>iat</c>) is in the future.</summary>
    NotYetValid,

    /// <summary>The token was issued for another tenant.</summary>
    WrongTenant,
}
