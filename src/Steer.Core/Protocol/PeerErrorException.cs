namespace Steer.Protocol;

/// <summary>The peer sent an Error frame (for a client: the gateway refused or ended the session).</summary>
public sealed class PeerErrorException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PeerErrorException()
        : this(GatewayErrorCodes.ProtocolError, "unknown error")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public PeerErrorException(string message)
        : this(GatewayErrorCodes.ProtocolError, message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public PeerErrorException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = GatewayErrorCodes.ProtocolError;
    }

    /// <summary>Creates the exception from an error frame's code and message.</summary>
    public PeerErrorException(string code, string message)
        : base($"Peer refused: {message} ({code})")
    {
        Code = code;
        PeerMessage = message;
    }

    /// <summary>The error code, one of <see cref="GatewayErrorCodes"/> (others are possible from newer peers).</summary>
    public string Code { get; }

    /// <summary>The peer's own explanation.</summary>
    public string? PeerMessage { get; }

    /// <summary>True when retrying with the same credentials cannot succeed.</summary>
    public bool IsPermanent => GatewayErrorCodes.IsPermanent(Code);
}
