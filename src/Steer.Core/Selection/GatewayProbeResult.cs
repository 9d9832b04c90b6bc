using Steer.Configuration;

namespace Steer.Selection;

/// <summary>The result of probing one gateway in one round (<see cref="DatacenterProber.ProbeAsync"/>).</summary>
public sealed record GatewayProbeResult
{
    /// <summary>The probed gateway.</summary>
    public required GatewayEndpoint Gateway { get; init; }

    /// <summary>The gateway's name.</summary>
    public string Name => Gateway.Name;

    /// <summary>What the probe found.</summary>
    public required ProbeState State { get; init; }

    /// <summary>A short human explanation, for example <c>3/3 answers</c> or <c>no answer to 3 UDP probes within 1000 ms</c>.</summary>
    public required string Reason { get; init; }

    /// <summary>UDP probes sent.</summary>
    public int SamplesSent { get; init; }

    /// <summary>UDP probes answered in time.</summary>
    public int SamplesAnswered { get; init; }

    /// <summary>UDP probes whose timeout passed without an answer (probes cut by an early decision are not counted).</summary>
    public int SamplesLost { get; init; }

    /// <summary>The round trip of each answered UDP probe, in the order sent.</summary>
    public IReadOnlyList<TimeSpan> Rtts { get; init; } = [];

    /// <summary>
    /// The RTT estimate: the smallest UDP round trip for <see cref="ProbeState.Ok"/>, the TLS handshake time for
    /// <see cref="ProbeState.TlsOnly"/>; null otherwise.
    /// </summary>
    public TimeSpan? MinRtt { get; init; }

    /// <summary>The median UDP round trip (the TLS handshake time for <see cref="ProbeState.TlsOnly"/>); null when nothing answered.</summary>
    public TimeSpan? MedianRtt { get; init; }

    /// <summary>Time to establish the TCP connection of the TLS fallback probe; null when it was not made or failed.</summary>
    public TimeSpan? TcpConnectTime { get; init; }

    /// <summary>Time of the TLS handshake of the fallback probe (after TCP connect); null when it was not made or failed.</summary>
    public TimeSpan? TlsHandshakeTime { get; init; }

    /// <summary>When, after the start of the round, this gateway's probe finished (or was cut).</summary>
    public TimeSpan CompletedAfter { get; init; }

    /// <summary>The fraction of settled UDP probes that were lost, 0 to 1: lost / (answered + lost); 0 when none settled.</summary>
    public double Loss => SamplesAnswered + SamplesLost == 0 ? 0 : (double)SamplesLost / (SamplesAnswered + SamplesLost);

    /// <summary>True for <see cref="ProbeState.Ok"/> and <see cref="ProbeState.TlsOnly"/>: the gateway can carry a tunnel.</summary>
    public bool IsHealthy => State.IsHealthy();
}
