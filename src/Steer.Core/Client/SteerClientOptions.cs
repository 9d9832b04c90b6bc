using Steer.Configuration;

namespace Steer;

/// <summary>Options for <see cref="SteerClient"/>.</summary>
public sealed class SteerClientOptions
{
    /// <summary>The tenant configuration (gateways, pins, steering). Required.</summary>
    public TenantConfiguration? Configuration { get; set; }

    /// <summary>The user's identity token, issued by the tenant's identity service. Required.</summary>
    public string? Token { get; set; }

    /// <summary>A stable identifier of this device. Required.</summary>
    public string? DeviceId { get; set; }

    /// <summary>Name for the TUN interface; <c>%d</c> lets the kernel pick a number. Default <c>steer%d</c>.</summary>
    public string InterfaceName { get; set; } = "steer%d";

    /// <summary>
    /// MTU of the TUN interface; default (null) is the session MTU the gateway announces. A larger value makes
    /// Steer answer oversized packets with ICMP "too big" itself (path-MTU discovery through the tunnel).
    /// </summary>
    public int? InterfaceMtu { get; set; }

    /// <summary>Use only the gateway with this name (otherwise the configuration's order).</summary>
    public string? Gateway { get; set; }

    /// <summary>Time allowed for TCP + TLS + handshake with one gateway. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest pause between reconnect attempts. Default 30 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Data transport: auto (DTLS with TLS fallback, default), dtls or tls.</summary>
    public SteerTransport Transport { get; set; } = SteerTransport.Auto;

    /// <summary>
    /// First pause before DTLS is tried again after it failed; later pauses grow by 5 s up to 30 s. Default 20 s.
    /// </summary>
    public TimeSpan DtlsRetryInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>While connected, the top three datacenters and the current one are re-probed this often. Default 60 s.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>While connected, every datacenter is re-probed this often. Default 5 minutes.</summary>
    public TimeSpan FullProbeInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// DNS through Steer's stub resolver: <see cref="SteerDnsMode.Auto"/> (default) when the gateway offers a resolver
    /// and the policy needs one (mode <c>all</c>, or domain rules); <see cref="SteerDnsMode.Off"/> leaves the OS's DNS alone.
    /// </summary>
    public SteerDnsMode Dns { get; set; } = SteerDnsMode.Auto;

    /// <summary>
    /// Where the stub resolver listens (UDP and TCP, port 53). Default 127.53.0.1 (clear of systemd-resolved's
    /// 127.0.0.53); on macOS 127.0.0.1, because there <c>lo0</c> carries only 127.0.0.1 and other loopback addresses
    /// cannot be bound without an alias.
    /// </summary>
    public System.Net.IPAddress DnsListenAddress { get; set; } =
        System.Net.IPAddress.Parse(OperatingSystem.IsMacOS() ? "127.0.0.1" : "127.53.0.1");

    /// <summary>Linux: the resolver file Steer rewrites while up (default /etc/resolv.conf).</summary>
    public string ResolvConfPath { get; set; } = "/etc/resolv.conf";

    /// <summary>
    /// Folder for the crash journal of host changes (routes, rules, addresses), so that the next start — or
    /// <see cref="SteerClient.RecoverLeftovers"/> — undoes what a killed process left. Null (default): no journal.
    /// </summary>
    public string? StateDirectory { get; set; }

    /// <summary>
    /// Linux: the firewall mark put on Steer's own sockets (tunnel, probes, direct DNS), which a policy rule sends to the
    /// main table so they never loop into the TUN. Default 0x5354.
    /// </summary>
    public uint FirewallMark { get; set; } = 0x5354;

    /// <summary>
    /// Linux: first routing table and rule priority Steer uses (it uses up to 100 of each from here). Default 5300.
    /// </summary>
    public int RoutingTableBase { get; set; } = 5300;

    /// <summary>
    /// Shortest life of a host route learned from a DNS answer, whatever its TTL (OS caches and applications keep
    /// addresses longer than the TTL). A route also lives while packets use it, and (Linux) while a connection of the
    /// machine has its address as peer. Default 5 minutes.
    /// </summary>
    public TimeSpan LearnedRouteLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Packets that may wait for the TLS tunnel's send loop before new ones are dropped (like a NIC queue). Default 1024:
    /// each waiting packet holds a pooled buffer of up to 2 KiB, so the queue bounds that memory (2 MiB) and the delay a
    /// full queue adds (about 10 ms at 1 Gbit/s); 4096 cost 6 MiB more resident memory under load, for no throughput.
    /// </summary>
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>Checks the options and returns the configuration; throws <see cref="ArgumentException"/> naming the option.</summary>
    internal TenantConfiguration Validate()
    {
        if (Configuration is null)
        {
            throw new ArgumentException("SteerClientOptions.Configuration is required (the tenant configuration).", nameof(Configuration));
        }

        if (string.IsNullOrWhiteSpace(Token))
        {
            throw new ArgumentException("SteerClientOptions.Token is required: pass the user's token (steer up --token or STEER_TOKEN).", nameof(Token));
        }

        if (string.IsNullOrWhiteSpace(DeviceId))
        {
            throw new ArgumentException("SteerClientOptions.DeviceId is required.", nameof(DeviceId));
        }

        if (Gateway is not null && !Configuration.Gateways.Any(g => g.Name == Gateway))
        {
            throw new ArgumentException(
                $"Gateway '{Gateway}' is not in tenant '{Configuration.Tenant}' (known: {string.Join(", ", Configuration.Gateways.Select(g => g.Name))}).",
                nameof(Gateway));
        }

        if (InterfaceMtu is < 576 or > 65535)
        {
            throw new ArgumentException($"InterfaceMtu must be between 576 and 65535, not {InterfaceMtu}.", nameof(InterfaceMtu));
        }

        if (ConnectTimeout <= TimeSpan.Zero || MaxReconnectDelay <= TimeSpan.Zero || SendQueueCapacity < 16)
        {
            throw new ArgumentException("ConnectTimeout and MaxReconnectDelay must be positive and SendQueueCapacity at least 16.");
        }

        if (RoutingTableBase is < 256 or > 0x7FFF_FF00)
        {
            throw new ArgumentException($"RoutingTableBase must be between 256 and {0x7FFF_FF00}, not {RoutingTableBase}.", nameof(RoutingTableBase));
        }

        if (LearnedRouteLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("LearnedRouteLifetime must be positive.", nameof(LearnedRouteLifetime));
        }

        return Configuration;
    }
}
