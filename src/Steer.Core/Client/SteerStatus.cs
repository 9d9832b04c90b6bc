namespace Steer;

/// <summary>
/// A snapshot of a <see cref="SteerClient"/>: what <c>steer status --json</c> prints and what an embedding agent
/// reads from <see cref="SteerClient.Status"/>.
/// </summary>
public sealed record SteerStatus
{
    /// <summary>Lifecycle state.</summary>
    public SteerState State { get; init; }

    /// <summary>Tenant name.</summary>
    public string Tenant { get; init; } = "";

    /// <summary>Name of the gateway (datacenter) in use, if any.</summary>
    public string? Gateway { get; init; }

    /// <summary>Address and port of the gateway in use.</summary>
    public string? GatewayEndpoint { get; init; }

    /// <summary>Why this gateway was chosen.</summary>
    public string? GatewayReason { get; init; }

    /// <summary>Transport carrying the data now: <c>dtls</c> or <c>tls</c>.</summary>
    public string? Transport { get; init; }

    /// <summary>How many times data moved between DTLS and TLS.</summary>
    public int TransportSwitches { get; init; }

    /// <summary>Packets sent over DTLS (included in <see cref="PacketsSent"/>).</summary>
    public long DtlsPacketsSent { get; init; }

    /// <summary>Packets received over DTLS (included in <see cref="PacketsReceived"/>).</summary>
    public long DtlsPacketsReceived { get; init; }

    /// <summary>DTLS datagrams that left inside UDP GSO super-datagrams (0 where the kernel or device has no GSO).</summary>
    public long DtlsGsoDatagrams { get; init; }

    /// <summary>DTLS datagrams that arrived coalesced by UDP GRO and were split again (0 where nothing was coalesced).</summary>
    public long DtlsGroDatagrams { get; init; }

    /// <summary>
    /// Packets from the tunnel that entered the TUN merged into TCP super-packets (Linux with offloads; 0 elsewhere),
    /// since the interface was made.
    /// </summary>
    public long TunMergedPackets { get; init; }

    /// <summary>UDP datagrams from the gateway's address that were no DTLS record, dropped.</summary>
    public long DtlsGarbageDropped { get; init; }

    /// <summary>DTLS records dropped as replays (sequence number already received, or older than the 64-record window).</summary>
    public long DtlsReplayedDropped { get; init; }

    /// <summary>DTLS records dropped because they failed authentication (forged or corrupted).</summary>
    public long DtlsRejectedDropped { get; init; }

    /// <summary>Name of the TUN interface.</summary>
    public string? Interface { get; init; }

    /// <summary>Inner IPv4 address with prefix.</summary>
    public string? InnerIPv4 { get; init; }

    /// <summary>Inner IPv6 address with prefix.</summary>
    public string? InnerIPv6 { get; init; }

    /// <summary>DNS servers announced by the gateway.</summary>
    public IReadOnlyList<string> DnsServers { get; init; } = [];

    /// <summary>Steering mode in force: <c>all</c>, <c>web</c> or <c>listed</c>.</summary>
    public string? SteeringMode { get; init; }

    /// <summary>Where Steer's DNS stub resolver listens while the OS resolves through it, or null when DNS is left alone.</summary>
    public string? DnsStub { get; init; }

    /// <summary>DNS queries the stub answered (steered through the tunnel / sent direct).</summary>
    public long DnsQueriesSteered { get; init; }

    /// <summary>DNS queries the stub sent to the direct (physical) resolver.</summary>
    public long DnsQueriesDirect { get; init; }

    /// <summary>Addresses learned from DNS answers that currently have a route or rule.</summary>
    public int LearnedAddresses { get; init; }

    /// <summary>Inner MTU.</summary>
    public int Mtu { get; init; }

    /// <summary>
    /// Largest packet the DTLS channel carries now, found by in-band path-MTU probing of the client → gateway path:
    /// 1280 until the first probe is answered and after a black hole, at most <see cref="Mtu"/>; 0 when not even
    /// 1280-byte probes get through (data then stays on TLS); null without a DTLS channel.
    /// </summary>
    public int? PathMtu { get; init; }

    /// <summary>Gateway's session id.</summary>
    public string? SessionId { get; init; }

    /// <summary>When the current tunnel came up.</summary>
    public DateTimeOffset? ConnectedSince { get; init; }

    /// <summary>How many times the tunnel was re-established after a loss.</summary>
    public int Reconnects { get; init; }

    /// <summary>Packets sent into the tunnel.</summary>
    public long PacketsSent { get; init; }

    /// <summary>Bytes of IP packets sent into the tunnel.</summary>
    public long BytesSent { get; init; }

    /// <summary>Packets received from the tunnel.</summary>
    public long PacketsReceived { get; init; }

    /// <summary>Bytes of IP packets received from the tunnel.</summary>
    public long BytesReceived { get; init; }

    /// <summary>Packets dropped (queue full, no tunnel, not an IP packet).</summary>
    public long PacketsDropped { get; init; }

    /// <summary>Packets too big for the tunnel, answered with ICMP "too big".</summary>
    public long PacketsTooBig { get; init; }

    /// <summary>The last error, in words.</summary>
    public string? LastError { get; init; }
}
