namespace Steer.Selection;

/// <summary>What probing a datacenter (gateway) found. <see cref="Ok"/> and <see cref="TlsOnly"/> are healthy.</summary>
public enum ProbeState
{
    /// <summary>Not probed (yet).</summary>
    NotProbed = 0,

    /// <summary>The gateway answered UDP probes on its DTLS port; the RTT is the UDP round trip.</summary>
    Ok,

    /// <summary>
    /// UDP got no answer or was refused, but a TLS handshake with the pinned key succeeded (UDP is blocked on the way
    /// or the gateway offers TLS only); the RTT is the TLS handshake time.
    /// </summary>
    TlsOnly,

    /// <summary>
    /// No answer before the prober's early decision: slower than the early-decision factor times the time the best
    /// gateways needed (docs/selection.md). Not a candidate in this round, not counted as a failure.
    /// </summary>
    Slow,

    /// <summary>No UDP answer within the sample timeout (and no TLS fallback probe, or it was not awaited).</summary>
    NoAnswer,

    /// <summary>The UDP port is closed: ICMP port unreachable (no TLS fallback probe).</summary>
    Refused,

    /// <summary>The gateway presented a certificate whose key pin is not in the tenant configuration.</summary>
    WrongPin,

    /// <summary>TCP connected but the TLS handshake failed or timed out, or the server does not speak <c>steer/1</c>.</summary>
    TlsFailed,

    /// <summary>Neither UDP nor TCP reached the gateway (refused, timed out, no route, or the name did not resolve).</summary>
    Unreachable,
}
