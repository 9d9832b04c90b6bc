namespace Steer.Selection;

/// <summary>The state of a datacenter's circuit breaker (<see cref="GatewayHealth"/>).</summary>
public enum GatewayCircuitState
{
    /// <summary>Attempts are allowed; failures are being counted.</summary>
    Closed,

    /// <summary>Ruled out after repeated failures until <see cref="GatewayHealth.OpenUntil"/>.</summary>
    Open,

    /// <summary>The break has passed: the next attempt is a trial that closes the breaker or opens it again.</summary>
    HalfOpen,

    /// <summary>Ruled out by hand (<see cref="GatewayHealth.IsolateAsync"/>, for example a wrong key pin) until <see cref="GatewayHealth.ResetAsync"/>.</summary>
    Isolated,
}
