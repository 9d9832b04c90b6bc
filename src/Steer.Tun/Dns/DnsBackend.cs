namespace Steer.Tun.Dns;

/// <summary>
/// The operating-system mechanism an <see cref="IDnsConfigurator"/> drives. As an option
/// (<see cref="DnsConfiguratorOptions.Backend"/>) it forces a choice; as a property (<see cref="IDnsConfigurator.Backend"/>)
/// it says which one was chosen.
/// </summary>
public enum DnsBackend
{
    /// <summary>
    /// Option only: let <see cref="DnsConfigurator.DetectBackend(DnsConfiguratorOptions)"/> choose. On Linux that is
    /// <see cref="SystemdResolved"/> when systemd-resolved is in charge of the host's DNS, otherwise <see cref="ResolvConf"/>.
    /// </summary>
    Auto = 0,

    /// <summary>Linux: <c>/etc/resolv.conf</c> is rewritten (every name only) and put back afterwards.</summary>
    ResolvConf,

    /// <summary>
    /// Linux: systemd-resolved is told over D-Bus (<c>org.freedesktop.resolve1</c> on the system bus) to send names to
    /// the tunnel interface's DNS servers: every name, or only listed domains (split DNS). Nothing on disk changes.
    /// </summary>
    SystemdResolved,

    /// <summary>
    /// macOS: every name and search domains through an entry of Steer's own in the SystemConfiguration dynamic store
    /// (<c>SupplementalMatchDomains</c> with the empty domain), listed domains through per-domain files in
    /// <c>/etc/resolver</c>. (The name is kept from when only the files existed.)
    /// </summary>
    MacOSResolverFiles,

    /// <summary>Windows: the tunnel interface's DNS servers and an NRPT rule.</summary>
    WindowsNrpt,
}
