using System.Net;

namespace Steer.Configuration;

/// <summary>The DNS settings the client applies while connected (JSON <c>dns</c>).</summary>
public sealed class DnsSettings
{
    /// <summary>The settings used when the configuration has no <c>dns</c> section: no servers, no search domains.</summary>
    public static DnsSettings None { get; } = new();

    /// <summary>The DNS servers to use while connected; empty to keep the system's.</summary>
    /// <remarks>Defaults to none.</remarks>
    public IReadOnlyList<IPAddress> Servers { get; init; } = [];

    /// <summary>The DNS search domains to add while connected.</summary>
    /// <remarks>Defaults to none.</remarks>
    public IReadOnlyList<string> SearchDomains { get; init; } = [];
}
