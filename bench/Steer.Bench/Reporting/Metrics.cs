namespace Steer.Bench.Reporting;

/// <summary>
/// Every metric the lab benchmark reports, with the targets of issue 6 and the OpenConnect 9.01 / ocserv 1.1.6
/// anchor measured on this machine type in the same topology.
/// </summary>
internal static class Metrics
{
    // Throughput (iperf3 receiver side), Mbit/s = 10^6 bit/s.
    public static readonly MetricDefinition Tcp1Up = new("tcp1.up.mbps", "TCP 1 stream client->inet", "Mbit/s", TargetKind.AtLeast, 1800, 379, 506, "0");
    public static readonly MetricDefinition Tcp1Down = new("tcp1.down.mbps", "TCP 1 stream inet->client (-R)", "Mbit/s", TargetKind.AtLeast, 1800, 379, 506, "0");
    public static readonly MetricDefinition Tcp4Up = new("tcp4.up.mbps", "TCP 4 streams client->inet", "Mbit/s", Format: "0");
    public static readonly MetricDefinition Tcp4Down = new("tcp4.down.mbps", "TCP 4 streams inet->client (-R)", "Mbit/s", Format: "0");
    public static readonly MetricDefinition RoutedTcp1Up = new("routed.tcp1.up.mbps", "Plain routed path, TCP 1 stream (ceiling)", "Mbit/s", AnchorTls: 16000, AnchorDtls: 16000, Format: "0");

    // UDP flood of small datagrams: packets the receiver got per second, and the loss.
    public static readonly MetricDefinition UdpUpPps = new("udp.up.rx_pps", "UDP small packets client->inet, received", "pkt/s", TargetKind.AtLeast, 100_000, 24_000, 24_000, "0");
    public static readonly MetricDefinition UdpUpLoss = new("udp.up.loss_pct", "UDP client->inet loss", "%", Format: "0.0");
    public static readonly MetricDefinition UdpDownPps = new("udp.down.rx_pps", "UDP small packets inet->client (-R), received", "pkt/s", TargetKind.AtLeast, 100_000, 24_000, 24_000, "0");
    public static readonly MetricDefinition UdpDownLoss = new("udp.down.loss_pct", "UDP inet->client loss", "%", Format: "0.0");

    // Ping RTT.
    public static readonly MetricDefinition PingTunnelP50 = new("ping.tunnel.p50_ms", "Ping RTT p50 through the tunnel (inet)", "ms", Format: "0.000");
    public static readonly MetricDefinition PingTunnelP99 = new("ping.tunnel.p99_ms", "Ping RTT p99 through the tunnel (inet)", "ms", Format: "0.000");
    public static readonly MetricDefinition PingDirectP50 = new("ping.direct.p50_ms", "Ping RTT p50 direct (client->gateway)", "ms", Format: "0.000");
    public static readonly MetricDefinition PingDirectP99 = new("ping.direct.p99_ms", "Ping RTT p99 direct (client->gateway)", "ms", Format: "0.000");
    public static readonly MetricDefinition PingAddedP50 = new("ping.added.p50_ms", "Ping RTT p50 added by Steer (tunnel - direct)", "ms", TargetKind.AtMost, 0.10, 0.28, 0.28, "0.000");
    public static readonly MetricDefinition PingRoutedP50 = new("ping.routed.p50_ms", "Ping RTT p50 plain routed path (inet)", "ms", Format: "0.000");
    public static readonly MetricDefinition PingRoutedP99 = new("ping.routed.p99_ms", "Ping RTT p99 plain routed path (inet)", "ms", Format: "0.000");

    // CPU seconds (user + system) of the steer processes per 10^9 bytes carried, during the TCP 1-stream runs.
    public static readonly MetricDefinition ClientCpuUp = new("cpu.client.tcp1.up.s_per_gb", "Client CPU per GB, TCP 1 stream up", "s/GB", TargetKind.AtMost, 3, 13, 10, "0.00");
    public static readonly MetricDefinition ClientCpuDown = new("cpu.client.tcp1.down.s_per_gb", "Client CPU per GB, TCP 1 stream down", "s/GB", TargetKind.AtMost, 3, 13, 10, "0.00");
    public static readonly MetricDefinition GatewayCpuUp = new("cpu.gateway.tcp1.up.s_per_gb", "Gateway CPU per GB, TCP 1 stream up", "s/GB", Format: "0.00");
    public static readonly MetricDefinition GatewayCpuDown = new("cpu.gateway.tcp1.down.s_per_gb", "Gateway CPU per GB, TCP 1 stream down", "s/GB", Format: "0.00");

    // Memory of the client process (VmRSS), MiB = 2^20 bytes.
    public static readonly MetricDefinition RssIdle = new("rss.client.idle_mib", "Client RSS idle (1 s after connected)", "MiB", Format: "0.0");
    public static readonly MetricDefinition RssLoad = new("rss.client.load_mib", "Client RSS under load (max during TCP runs)", "MiB", TargetKind.AtMost, 20, 13.5, 13.5, "0.0");

    // Start: from starting `steer up` to the status line "connected", and to the first TCP connect through the tunnel.
    public static readonly MetricDefinition StartConnected = new("start.connected_s", "Start -> status line 'connected'", "s", Format: "0.000");
    public static readonly MetricDefinition StartFirstPacket = new("start.first_packet_s", "Start -> first TCP connect through", "s", TargetKind.AtMost, 0.10, 0.13, 0.13, "0.000");
}
