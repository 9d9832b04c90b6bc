using System.Text.Json.Serialization;

namespace Steer.Configuration;

// The JSON shape of a tenant configuration, as written: everything nullable so that validation, not the
// deserializer, decides what is missing and says so with the field's path.

/// <summary>The root of the tenant configuration document.</summary>
internal sealed class TenantConfigurationDocument
{
    public int? Version { get; set; }

    public string? Tenant { get; set; }

    public List<GatewayDocument?>? Gateways { get; set; }

    public SteeringDocument? Steering { get; set; }

    public DnsDocument? Dns { get; set; }

    public string? FailMode { get; set; }
}

/// <summary>One entry of <c>gateways</c>.</summary>
internal sealed class GatewayDocument
{
    public string? Name { get; set; }

    public string? Address { get; set; }

    public int? Port { get; set; }

    public List<string?>? Pins { get; set; }

    public string? Location { get; set; }

    public int? Priority { get; set; }
}

/// <summary>The <c>steering</c> section.</summary>
internal sealed class SteeringDocument
{
    public string? Mode { get; set; }

    public List<string?>? IncludeCidrs { get; set; }

    public List<string?>? ExcludeCidrs { get; set; }

    public List<string?>? Include { get; set; }

    public List<string?>? Exclude { get; set; }
}

/// <summary>The <c>dns</c> section.</summary>
internal sealed class DnsDocument
{
    public List<string?>? Servers { get; set; }

    public List<string?>? SearchDomains { get; set; }
}

/// <summary>Source-generated (reflection-free, AOT-safe) serialization of the tenant configuration document.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(TenantConfigurationDocument))]
internal sealed partial class TenantConfigurationJsonContext : JsonSerializerContext
{
}
