namespace Steer.Tun.Dns;

/// <summary>
/// Points the operating system's resolver at DNS servers reached through the tunnel, for every name or only for
/// listed domains, and restores the previous configuration when disposed. One implementation per OS backend (see
/// <see cref="DnsConfigurator.Create(DnsConfiguratorOptions, Microsoft.Extensions.Logging.ILogger?)"/>).
/// </summary>
/// <remarks>
/// Calls are serialized internally. A configurator notices when another program rewrote what it wrote (a DHCP client,
/// NetworkManager, the user) and then leaves that program's configuration in place instead of clobbering it.
/// </remarks>
public interface IDnsConfigurator : IDisposable
{
    /// <summary>The mechanism this configurator drives (never <see cref="DnsBackend.Auto"/>), for logs and status.</summary>
    DnsBackend Backend { get; }

    /// <summary>
    /// Applies <paramref name="configuration"/>. Calling it again replaces the previous configuration; Dispose still
    /// restores what the system had before the first call.
    /// </summary>
    /// <exception cref="ArgumentException">The configuration is invalid; the parameter name names the member.</exception>
    /// <exception cref="NotSupportedException">This backend cannot do what is asked (for example split DNS through
    /// <c>/etc/resolv.conf</c>); the message says what would be needed.</exception>
    /// <exception cref="TunException">The OS refused; <see cref="TunException.IsPermissionDenied"/> is set when privileges are missing.</exception>
    void Apply(DnsConfiguration configuration);
}
