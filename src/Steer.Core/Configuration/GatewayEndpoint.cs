using System.Net;
using System.Net.Sockets;

namespace Steer.Configuration;

/// <summary>A gateway of the tenant configuration: where it listens and the key pins its TLS certificate must match.</summary>
public sealed class GatewayEndpoint
{
    /// <summary>The port used when the configuration gives none: 443.</summary>
    public const int DefaultPort = 443;

    /// <summary>The gateway's name, unique within the tenant configuration, for example <c>lab-1</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The gateway's IP address or host name.</summary>
    public required string Address { get; init; }

    /// <summary>The gateway's TCP port.</summary>
    /// <remarks>Defaults to <see cref="DefaultPort"/> (443).</remarks>
    public int Port { get; init; } = DefaultPort;

    /// <summary>
    /// The accepted key pins of the gateway's certificate (<c>sha256/…</c>, see <see cref="Security.CertificatePin"/>);
    /// more than one during a key rollover.
    /// </summary>
    public required IReadOnlyList<string> Pins { get; init; }

    /// <summary>A free-form location shown to users, for example <c>lab</c> or <c>eu-west</c>; null when not given.</summary>
    public string? Location { get; init; }

    /// <summary>
    /// Preference among gateways of similar latency (0–1000, lower first; default 0). Latency decides first; the
    /// priority breaks ties and orders gateways that could not be measured.
    /// </summary>
    public int Priority { get; init; }

    /// <summary>The address and port as one would write them in a URL: <c>198.18.1.1:443</c>, <c>[2001:db8::1]:443</c>.</summary>
    public string HostAndPort =>
        IPAddress.TryParse(Address, out IPAddress? ip) && ip.AddressFamily == AddressFamily.InterNetworkV6
            ? $"[{Address}]:{Port}"
            : $"{Address}:{Port}";

    /// <summary>Returns <c>name (address:port)</c>.</summary>
    /// <returns>A short description for logs and messages.</returns>
    public override string ToString() => $"{Name} ({HostAndPort})";
}
