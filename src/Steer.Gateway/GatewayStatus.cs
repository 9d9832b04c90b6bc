namespace Steer.Gateway;

/// <summary>What <c>steer gateway status --json</c> prints: the gateway's sessions and counters.</summary>
public sealed record GatewayStatus
{
    /// <summary>Gateway name.</summary>
    public string Name { get; init; } = "";

    /// <summary>Tenant served.</summary>
    public string Tenant { get; init; } = "";

    /// <summary>The gateway's TUN interface.</summary>
    public string? Interface { get; init; }

    /// <summary>Sessions now up.</summary>
    public IReadOnlyList<GatewaySessionInfo> Sessions { get; init; } = [];

    /// <summary>Handshakes that completed.</summary>
    public long SessionsAccepted { get; init; }

    /// <summary>Clients refused for a missing, bad or expired token.</summary>
    public long AuthenticationFailures { get; init; }

    /// <summary>Connections that failed in TLS or the handshake for other reasons.</summary>
    public long HandshakeFailures { get; init; }

    /// <summary>Packets from clients written to the TUN.</summary>
    public long PacketsToTun { get; init; }

    /// <summary>Packets read from the TUN and sent to a client.</summary>
    public long PacketsFromTun { get; init; }

    /// <summary>Client packets dropped because their source was not the session's address.</summary>
    public long SpoofedDropped { get; init; }

    /// <summary>TUN packets dropped because no session holds the destination.</summary>
    public long NoSessionDropped { get; init; }

    /// <summary>UDP datagrams received on the DTLS port.</summary>
    public long UdpDatagrams { get; init; }

    /// <summary>Of <see cref="UdpDatagrams"/>, those that arrived coalesced by UDP GRO and were split again.</summary>
    public long UdpGroDatagrams { get; init; }

    /// <summary>UDP datagrams dropped before reaching a session (garbage, unknown sender, failed handshake).</summary>
    public long UdpDropped { get; init; }

    /// <summary>Datagrams from a session's DTLS address that were no DTLS record, dropped.</summary>
    public long DtlsGarbageDropped { get; init; }

    /// <summary>Sessions' DTLS records dropped as replays (sequence number already received, or older than the window).</summary>
    public long DtlsReplayedDropped { get; init; }

    /// <summary>Sessions' DTLS records dropped because they failed authentication (forged or corrupted).</summary>
    public long DtlsRejectedDropped { get; init; }

    /// <summary>Latency probes (STP1) answered on the UDP port.</summary>
    public long ProbesAnswered { get; init; }

    /// <summary>Client packets dropped as malformed (not IPv4/IPv6).</summary>
    public long MalformedDropped { get; init; }
}
