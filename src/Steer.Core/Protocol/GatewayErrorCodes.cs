namespace Steer.Protocol;

/// <summary>Error codes a gateway sends in an Error frame (see docs/protocol.md).</summary>
public static class GatewayErrorCodes
{
    /// <summary>The token is missing, malformed, expired, badly signed or for another tenant.</summary>
    public const string AuthenticationFailed = "auth-failed";

    /// <summary>The client speaks a protocol version the gateway does not.</summary>
    public const string UnsupportedVersion = "unsupported-version";

    /// <summary>The gateway has no free inner address.</summary>
    public const string PoolExhausted = "pool-exhausted";

    /// <summary>The peer sent something the protocol does not allow.</summary>
    public const string ProtocolError = "protocol-error";

    /// <summary>The gateway is shutting down; try another one.</summary>
    public const string ShuttingDown = "shutting-down";

    /// <summary>The session was idle past the dead-peer timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>True when retrying the same gateway with the same credentials cannot succeed.</summary>
    public static bool IsPermanent(string code) => code is AuthenticationFailed or UnsupportedVersion;
}
