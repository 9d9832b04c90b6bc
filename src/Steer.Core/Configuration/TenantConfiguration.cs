using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Steer.Configuration;

/// <summary>
/// The configuration a tenant publishes: its gateways and their key pins, what to steer, DNS and the fail mode.
/// </summary>
/// <remarks>
/// The JSON document (camelCase; unknown properties are ignored):
/// <code>
/// {
///   "version": 1,
///   "tenant": "acme",
///   "gateways": [ { "name": "lab-1", "address": "198.18.1.1", "port": 443, "pins": ["sha256/…"], "location": "lab" } ],
///   "steering": { "mode": "all", "includeCidrs": ["0.0.0.0/0", "::/0"], "excludeCidrs": [] },
///   "dns": { "servers": ["100.64.0.1"], "searchDomains": [] },
///   "failMode": "open"
/// }
/// </code>
/// Load it with <see cref="Parse"/> or <see cref="TenantConfigurationLoader"/>, which validate every field.
/// </remarks>
public sealed class TenantConfiguration
{
    /// <summary>The only document version this client reads: 1.</summary>
    public const int SupportedVersion = 1;

    /// <summary>The rule tenant names follow, for messages: "must be 1 to 63 characters …".</summary>
    public const string TenantNameRule = "must be 1 to 63 characters, each a lowercase letter a-z, a digit 0-9 or '-'";

    /// <summary>The document version.</summary>
    /// <remarks>Defaults to <see cref="SupportedVersion"/>.</remarks>
    public int Version { get; init; } = SupportedVersion;

    /// <summary>The tenant name, for example <c>acme</c>; see <see cref="IsValidTenantName"/>.</summary>
    public required string Tenant { get; init; }

    /// <summary>The tenant's gateways, at least one, with unique names.</summary>
    public required IReadOnlyList<GatewayEndpoint> Gateways { get; init; }

    /// <summary>What to steer through the gateway.</summary>
    /// <remarks>Defaults to <see cref="SteeringSettings.Default"/>: all traffic.</remarks>
    public SteeringSettings Steering { get; init; } = SteeringSettings.Default;

    /// <summary>The DNS settings while connected.</summary>
    /// <remarks>Defaults to <see cref="DnsSettings.None"/>.</remarks>
    public DnsSettings Dns { get; init; } = DnsSettings.None;

    /// <summary>What happens to traffic while no gateway is reachable.</summary>
    /// <remarks>Defaults to <see cref="FailMode.Open"/>.</remarks>
    public FailMode FailMode { get; init; } = FailMode.Open;

    /// <summary>Parses and validates a tenant configuration document.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where the text came from (file path or URL), named in error messages.</param>
    /// <returns>The validated configuration, with defaults for missing sections.</returns>
    /// <exception cref="TenantConfigurationException">
    /// The JSON is malformed (the message gives line and position) or a field is invalid (the message gives its
    /// JSON path, for example <c>gateways[1].pins[0]</c>, the problem and what is expected).
    /// </exception>
    public static TenantConfiguration Parse(string json, string source) => TenantConfigurationParser.Parse(json, source);

    /// <summary>Returns whether <paramref name="name"/> is a valid tenant name: 1 to 63 characters of <c>[a-z0-9-]</c>.</summary>
    /// <param name="name">The name to check; may be null.</param>
    /// <returns>True when valid.</returns>
    public static bool IsValidTenantName([NotNullWhen(true)] string? name)
    {
        if (name is null || name.Length is 0 or > 63)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes the configuration as an indented JSON document that <see cref="Parse"/> reads back.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        var document = new TenantConfigurationDocument
        {
            Version = Version,
            Tenant = Tenant,
            Gateways = Gateways.Select(g => (GatewayDocument?)new GatewayDocument
            {
                Name = g.Name,
                Address = g.Address,
                Port = g.Port,
                Pins = [.. g.Pins],
                Location = g.Location,
                Priority = g.Priority == 0 ? null : g.Priority,
            }).ToList(),
            Steering = new SteeringDocument
            {
                Mode = Steering.Mode == SteeringMode.All ? "all" : "cidrs",
                IncludeCidrs = Steering.IncludeCidrs.Select(n => (string?)n.ToString()).ToList(),
                ExcludeCidrs = Steering.ExcludeCidrs.Select(n => (string?)n.ToString()).ToList(),
            },
            Dns = new DnsDocument
            {
                Servers = Dns.Servers.Select(s => (string?)s.ToString()).ToList(),
                SearchDomains = [.. Dns.SearchDomains],
            },
            FailMode = FailMode == FailMode.Open ? "open" : "closed",
        };
        return JsonSerializer.Serialize(document, TenantConfigurationJsonContext.Default.TenantConfigurationDocument);
    }
}
