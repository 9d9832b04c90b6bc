using System.Net.Sockets;
using Steer.Configuration;

namespace Steer.Selection;

/// <summary>Options of a <see cref="DatacenterProber"/>.</summary>
public sealed class DatacenterProberOptions
{
    /// <summary>UDP probes sent to each gateway per round.</summary>
    /// <remarks>Defaults to 3.</remarks>
    public int SamplesPerGateway { get; set; } = 3;

    /// <summary>Time between two probes to the same gateway.</summary>
    /// <remarks>Defaults to 20 ms.</remarks>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How long a probe waits for its answer; a later answer counts as lost.</summary>
    /// <remarks>Defaults to 1 second.</remarks>
    public TimeSpan SampleTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether a gateway whose UDP probes got no answer (or were refused) is probed over TLS: TCP connect and a TLS
    /// handshake checked against its key pins, giving <see cref="ProbeState.TlsOnly"/>, <see cref="ProbeState.WrongPin"/>,
    /// <see cref="ProbeState.TlsFailed"/> or <see cref="ProbeState.Unreachable"/>.
    /// </summary>
    /// <remarks>Defaults to true.</remarks>
    public bool TlsFallback { get; set; } = true;

    /// <summary>
    /// Whether gateways that answered UDP are also probed over TLS, to check their identity: a UDP echo proves
    /// reachability, not the key. A wrong pin makes the result <see cref="ProbeState.WrongPin"/>; a failed TCP connect or
    /// TLS handshake <see cref="ProbeState.Unreachable"/> or <see cref="ProbeState.TlsFailed"/> (the DTLS channel needs
    /// the TLS session, so such a gateway cannot carry a tunnel). The RTT stays the UDP one; TLS times are reported.
    /// </summary>
    /// <remarks>Defaults to false (connecting checks the pin anyway); <c>steer probe</c> wants true.</remarks>
    public bool VerifyPins { get; set; }

    /// <summary>How long the TLS fallback probe (TCP connect + TLS handshake) may take.</summary>
    /// <remarks>Defaults to 3 seconds.</remarks>
    public TimeSpan TlsTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Whether a round may end before every gateway has finished, by the early-decision rule (docs/selection.md): once
    /// the first <see cref="EarlyDecisionCount"/> gateways have finished all their samples with at least one answer
    /// (at time T), the round ends as soon as every other gateway has answered at least once or finished, or
    /// <see cref="EarlyDecisionFactor"/> × T has passed. The current gateway given to
    /// <see cref="DatacenterProber.ProbeAsync"/> is always awaited.
    /// </summary>
    /// <remarks>Defaults to false: every gateway is probed to the end (what <c>steer probe</c> wants).</remarks>
    public bool EarlyDecision { get; set; }

    /// <summary>
    /// How many gateways must have finished before an early decision; capped at one less than the number of gateways
    /// probed, so that one dead gateway never holds the round to its timeout.
    /// </summary>
    /// <remarks>Defaults to 3.</remarks>
    public int EarlyDecisionCount { get; set; } = 3;

    /// <summary>The multiple of the best gateways' time after which silent gateways are no longer awaited.</summary>
    /// <remarks>Defaults to 2.</remarks>
    public double EarlyDecisionFactor { get; set; } = 2.0;

    /// <summary>The UDP port to probe for a gateway.</summary>
    /// <remarks>Defaults to null: the gateway's <see cref="GatewayEndpoint.Port"/> (DTLS listens on the TLS port number).</remarks>
    public Func<GatewayEndpoint, int>? UdpPort { get; set; }

    /// <summary>
    /// Called for every socket the prober opens (UDP and TCP), before it is connected: for example to set SO_MARK or bind
    /// it to the physical interface so that probes never enter the tunnel.
    /// </summary>
    /// <remarks>Defaults to none.</remarks>
    public Action<Socket>? ConfigureSocket { get; set; }

    /// <summary>The clock for the rounds' start times; RTTs are measured with <see cref="System.Diagnostics.Stopwatch"/>.</summary>
    /// <remarks>Defaults to <see cref="TimeProvider.System"/>.</remarks>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate(string argumentName)
    {
        if (SamplesPerGateway is < 1 or > 100)
        {
            throw new ArgumentException($"{nameof(SamplesPerGateway)} must be between 1 and 100.", argumentName);
        }

        if (SampleInterval < TimeSpan.Zero || SampleTimeout <= TimeSpan.Zero || TlsTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(SampleTimeout)} and {nameof(TlsTimeout)} must be positive and {nameof(SampleInterval)} not negative.", argumentName);
        }

        if (EarlyDecisionCount < 1 || !(EarlyDecisionFactor >= 1.0) || double.IsInfinity(EarlyDecisionFactor))
        {
            throw new ArgumentException($"{nameof(EarlyDecisionCount)} must be at least 1 and {nameof(EarlyDecisionFactor)} a finite number of at least 1.", argumentName);
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException($"{nameof(TimeProvider)} must not be null.", argumentName);
        }
    }
}
