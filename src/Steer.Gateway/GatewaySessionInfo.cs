namespace Steer.Gateway;

/// <summary>One client session as seen by the gateway.</summary>
public sealed record GatewaySessionInfo
{
    /// <summary>Session id.</summary>
    public string Id { get; init; } = "";

    /// <summary>User identity from the token.</summary>
    public string User { get; init; } = "";

    /// <summary>Device id the client presented.</summary>
    public string DeviceId { get; init; } = "";

    /// <summary>Client's outer address and port.</summary>
    public string Remote { get; init; } = "";

    /// <summary>Inner IPv4 address.</summary>
    public string IPv4 { get; init; } = "";

    /// <summary>Inner IPv6 address.</summary>
    public string? IPv6 { get; init; }

    /// <summary>Transport the gateway uses to send to this client now: <c>dtls</c> or <c>tls</c>.</summary>
    public string Transport { get; init; } = "tls";

    /// <summary>How often the gateway's choice of transport for this client changed.</summary>
    public long TransportSwitches { get; init; }

    /// <summary>Packets received from the client over DTLS.</summary>
    public long DtlsPacketsReceived { get; init; }

    /// <summary>Packets sent to the client over DTLS.</summary>
    public long DtlsPacketsSent { get; init; }

    /// <summary>DTLS datagrams of the current DTLS channel that left inside UDP GSO super-datagrams.</summary>
    public long DtlsGsoDatagrams { get; init; }

    /// <summary>
    /// This client's packets (over TLS, and over the current DTLS channel) that entered the gateway's TUN merged into
    /// TCP super-packets.
    /// </summary>
    public long TunMergedPackets { get; init; }

    /// <summary>
    /// Largest packet the gateway sends to this client over DTLS now (in-band probed path MTU of the gateway → client
    /// direction; 0 when not even 1280-byte probes get through); null without a DTLS channel.
    /// </summary>
    public int? PathMtu { get; init; }

    /// <summary>Packets to the client larger than <see cref="PathMtu"/>, sent over TLS instead of DTLS.</summary>
    public long PacketsTooBigForDtls { get; init; }

    /// <summary>Packets received from the client.</summary>
    public long PacketsReceived { get; init; }

    /// <summary>Packets sent to the client.</summary>
    public long PacketsSent { get; init; }

    /// <summary>When the session started.</summary>
    public DateTimeOffset Since { get; init; }
}
