namespace Steer.Gateway;

/// <summary>Lab service that serves the tenant configuration document over HTTPS.</summary>
public sealed class ConfigServerOptions
{
    /// <summary>Listen endpoint, e.g. <c>0.0.0.0:8443</c>.</summary>
    public string Listen { get; set; } = "0.0.0.0:8443";

    /// <summary>The tenant configuration JSON file to serve at <c>/v1/tenant.json</c>.</summary>
    public string File { get; set; } = "tenant.json";
}
