namespace Steer.Selection;

/// <summary>One datacenter in <c>steer probe --json</c> (<see cref="ProbeReport"/>).</summary>
public sealed record DatacenterReport
{
    /// <summary>The datacenter's name.</summary>
    public required string Name { get; init; }

    /// <summary>Its location label; null when not configured.</summary>
    public string? Location { get; init; }

    /// <summary>Its address and port, for example <c>198.18.1.1:443</c>.</summary>
    public required string Address { get; init; }

    /// <summary>The smallest RTT in milliseconds (UDP, or the TLS handshake for <c>tls-only</c>); null when none.</summary>
    public double? RttMinMs { get; init; }

    /// <summary>The median RTT in milliseconds; null when none.</summary>
    public double? RttMedianMs { get; init; }

    /// <summary>Lost UDP probes in percent of the settled ones.</summary>
    public double LossPercent { get; init; }

    /// <summary>
    /// The probe state: <c>ok</c>, <c>tls-only</c>, <c>slow</c>, <c>no-answer</c>, <c>refused</c>, <c>wrong-pin</c>,
    /// <c>tls-failed</c>, <c>unreachable</c> or <c>not-probed</c> (<see cref="ProbeStateExtensions.ToWireName"/>).
    /// </summary>
    public required string State { get; init; }

    /// <summary>Why: the probe's reason, for example <c>3/3 answers</c> or the pin mismatch message.</summary>
    public required string Reason { get; init; }

    /// <summary>True for the datacenter the selector chose.</summary>
    public bool Chosen { get; init; }

    /// <summary>UDP probes sent.</summary>
    public int SamplesSent { get; init; }

    /// <summary>UDP probes answered.</summary>
    public int SamplesAnswered { get; init; }

    /// <summary>TCP connect time of the TLS fallback probe in milliseconds; null when not made.</summary>
    public double? TcpConnectMs { get; init; }

    /// <summary>TLS handshake time of the TLS fallback probe in milliseconds; null when not made.</summary>
    public double? TlsHandshakeMs { get; init; }
}
