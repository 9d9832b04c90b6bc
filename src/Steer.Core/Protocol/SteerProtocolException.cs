namespace Steer.Protocol;

/// <summary>The peer broke the tunnel protocol (malformed, oversized or unknown frame, unsupported version).</summary>
public sealed class SteerProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SteerProtocolException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SteerProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public SteerProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
