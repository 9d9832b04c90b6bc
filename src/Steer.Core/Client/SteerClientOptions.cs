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

    /// <summary>Packets that may wait for the tunnel before new ones are dropped. Default 4096.</summary>
    public int SendQueueCapacity { get; set; } = 4096;

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

        return Configuration;
    }
}
