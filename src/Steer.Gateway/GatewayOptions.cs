using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Steer.Gateway;

/// <summary>
/// Configuration of the reference gateway, read from a JSON file (<c>steer gateway run --config FILE</c>).
/// Relative file paths are resolved against the configuration file's folder.
/// </summary>
public sealed class GatewayOptions
{
    /// <summary>Gateway (datacenter) name, reported to clients.</summary>
    public string Name { get; set; } = "gateway";

    /// <summary>The tenant this gateway serves.</summary>
    public string Tenant { get; set; } = "";

    /// <summary>TLS listen endpoint, e.g. <c>0.0.0.0:443</c> or <c>[::]:443</c>.</summary>
    public string Listen { get; set; } = "[::]:443";

    /// <summary>PEM certificate file of the gateway (its key's SPKI pin goes into the tenant configuration).</summary>
    public string Certificate { get; set; } = "gateway.crt";

    /// <summary>PEM private key file of the certificate.</summary>
    public string Key { get; set; } = "gateway.key";

    /// <summary>PEM public key that verifies client tokens.</summary>
    public string TokenPublicKey { get; set; } = "token-signing.pub";

    /// <summary>PEM private key that signs tokens (only needed by <c>steer gateway issue-token</c>).</summary>
    public string? TokenSigningKey { get; set; } = "token-signing.key";

    /// <summary>IPv4 pool for inner addresses; the gateway takes the first host address.</summary>
    public string Ipv4Pool { get; set; } = "100.64.0.0/24";

    /// <summary>IPv6 pool for inner addresses, or null for IPv4 only.</summary>
    public string? Ipv6Pool { get; set; } = "fd53:7ee7:ff::/64";

    /// <summary>
    /// DNS servers announced to clients. Empty (default) with <see cref="DnsUpstream"/> set: the gateway's own inner
    /// address, where its DNS forwarder listens.
    /// </summary>
    public IReadOnlyList<string> DnsServers { get; set; } = [];

    /// <summary>
    /// Upstream DNS server (<c>address</c> or <c>address:port</c>) for the gateway's DNS forwarder. When set, the
    /// gateway answers DNS on its inner addresses (port 53, UDP and TCP) by relaying to this server, so that clients
    /// resolve steered names through the tunnel. Null (default): no forwarder.
    /// </summary>
    public string? DnsUpstream { get; set; }

    /// <summary>Inner MTU announced to clients and used on the gateway's TUN.</summary>
    public int Mtu { get; set; } = 1400;

    /// <summary>Keepalive interval announced to clients, in seconds; a peer silent for 3 intervals is dead.</summary>
    public int KeepaliveSeconds { get; set; } = 10;

    /// <summary>Name of the gateway's TUN interface.</summary>
    public string TunName { get; set; } = "steergw%d";

    /// <summary>Offer the DTLS data channel on UDP, same port number as TLS.</summary>
    public bool Dtls { get; set; } = true;

    /// <summary>Install NAT (masquerade) and forwarding for the pools.</summary>
    public bool Nat { get; set; } = true;

    /// <summary>Most concurrent sessions.</summary>
    public int MaxSessions { get; set; } = 1000;

    /// <summary>Optional lab service: serve the tenant configuration over HTTPS.</summary>
    public ConfigServerOptions? ConfigServer { get; set; }

    /// <summary>Folder that relative paths are resolved against (set by <see cref="Load"/>).</summary>
    [JsonIgnore]
    public string BaseDirectory { get; set; } = ".";

    /// <summary>Resolves a path from this configuration against <see cref="BaseDirectory"/>.</summary>
    public string Resolve(string path) => Path.GetFullPath(path, Path.GetFullPath(BaseDirectory));

    /// <summary>Loads and validates a gateway configuration file.</summary>
    /// <exception cref="GatewayConfigurationException">The file is missing or invalid; the message names the field.</exception>
    public static GatewayOptions Load(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new GatewayConfigurationException($"Gateway configuration file {full} does not exist (create one with 'steer gateway init').");
        }

        GatewayOptions? options;
        try
        {
            options = JsonSerializer.Deserialize(File.ReadAllBytes(full), GatewayJsonContext.Default.GatewayOptions);
        }
        catch (JsonException ex)
        {
            throw new GatewayConfigurationException($"{full}: not valid JSON at {ex.Path} (line {ex.LineNumber + 1}): {ex.Message}", ex);
        }

        options = options ?? throw new GatewayConfigurationException($"{full}: the document is empty.");
        options.BaseDirectory = Path.GetDirectoryName(full)!;
        options.Validate(full);
        return options;
    }

    /// <summary>Checks every field; throws naming the first bad one.</summary>
    public void Validate(string source)
    {
        void Fail(string field, string problem) => throw new GatewayConfigurationException($"{source}: '{field}' {problem}");

        if (string.IsNullOrWhiteSpace(Tenant))
        {
            Fail("tenant", "is required (the tenant this gateway serves).");
        }

        if (!IPEndPoint.TryParse(Listen, out IPEndPoint? listen) || listen.Port == 0)
        {
            Fail("listen", $"must be an address and port such as 0.0.0.0:443 or [::]:443, not '{Listen}'.");
        }

        if (!IPNetwork.TryParse(Ipv4Pool, out IPNetwork v4) || v4.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || v4.PrefixLength > 30)
        {
            Fail("ipv4Pool", $"must be an IPv4 network with host bits clear and a prefix of /30 or shorter, not '{Ipv4Pool}'.");
        }

        if (Ipv6Pool is not null && (!IPNetwork.TryParse(Ipv6Pool, out IPNetwork v6) || v6.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || v6.PrefixLength > 120))
        {
            Fail("ipv6Pool", $"must be an IPv6 network with host bits clear and a prefix of /120 or shorter, not '{Ipv6Pool}'.");
        }

        if (Mtu is < 1280 or > 65535)
        {
            Fail("mtu", $"must be between 1280 and 65535, not {Mtu}.");
        }

        if (KeepaliveSeconds is < 1 or > 300)
        {
            Fail("keepaliveSeconds", $"must be between 1 and 300, not {KeepaliveSeconds}.");
        }

        if (MaxSessions < 1)
        {
            Fail("maxSessions", "must be at least 1.");
        }

        foreach (string dns in DnsServers)
        {
            if (!IPAddress.TryParse(dns, out _))
            {
                Fail("dnsServers", $"holds '{dns}', which is not an IP address.");
            }
        }

        if (DnsUpstream is not null && ParseDnsUpstream(DnsUpstream) is null)
        {
            Fail("dnsUpstream", $"must be an IP address, optionally with a port (e.g. 192.0.2.53 or 192.0.2.53:53), not '{DnsUpstream}'.");
        }

        if (ConfigServer is not null && (!IPEndPoint.TryParse(ConfigServer.Listen, out IPEndPoint? cs) || cs.Port == 0))
        {
            Fail("configServer.listen", $"must be an address and port, not '{ConfigServer.Listen}'.");
        }
    }

    /// <summary>Parses <see cref="DnsUpstream"/>: an address with an optional port (53 when omitted).</summary>
    internal static IPEndPoint? ParseDnsUpstream(string text)
    {
        if (IPAddress.TryParse(text, out IPAddress? address))
        {
            return new IPEndPoint(address, 53);
        }

        return IPEndPoint.TryParse(text, out IPEndPoint? endPoint) && endPoint.Port != 0 ? endPoint : null;
    }
}
