namespace Steer.Selection;

/// <summary>An attempt was refused because the datacenter's circuit breaker rules it out (<see cref="GatewayHealth"/>).</summary>
public sealed class GatewayUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GatewayUnavailableException()
        : this("The datacenter is ruled out after repeated failures.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public GatewayUnavailableException(string message)
        : base(message)
    {
        GatewayName = string.Empty;
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public GatewayUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
        GatewayName = string.Empty;
    }

    internal GatewayUnavailableException(string gatewayName, GatewayCircuitState state, TimeSpan? retryAfter, string message)
        : base(message)
    {
        GatewayName = gatewayName;
        State = state;
        RetryAfter = retryAfter;
    }

    /// <summary>The datacenter's name; empty when unknown.</summary>
    public string GatewayName { get; }

    /// <summary>The breaker's state when the attempt was refused.</summary>
    public GatewayCircuitState State { get; }

    /// <summary>How long until the breaker allows a trial; null when isolated or unknown.</summary>
    public TimeSpan? RetryAfter { get; }
}
