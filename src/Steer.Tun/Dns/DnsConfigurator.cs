using Microsoft.Extensions.Logging;

namespace Steer.Tun.Dns;

/// <summary>Creates the <see cref="IDnsConfigurator"/> of the operating system Steer runs on.</summary>
public static class DnsConfigurator
{
    /// <summary>True on Linux (<c>/etc/resolv.conf</c>), macOS (<c>/etc/resolver</c>) and Windows (interface DNS + NRPT).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsWindows();

    /// <summary>Creates the configurator with the default options.</summary>
    /// <param name="logger">Receives one message per change and warnings when a change could not be undone.</param>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>).</exception>
    public static IDnsConfigurator Create(ILogger? logger = null) => Create(new DnsConfiguratorOptions(), logger);

    /// <summary>
    /// Creates the configurator: on Linux one that rewrites <c>/etc/resolv.conf</c> (every name only; split DNS needs
    /// systemd-resolved, which is not driven yet), on macOS one that writes per-domain files in <c>/etc/resolver</c>
    /// (listed domains only; every name needs the SystemConfiguration store, not implemented), on Windows one that
    /// sets the interface's DNS servers and adds an NRPT rule. Nothing changes until <see cref="IDnsConfigurator.Apply"/>.
    /// </summary>
    /// <param name="options">Paths of the files involved (tests point them at a temporary directory).</param>
    /// <param name="logger">Receives one message per change and warnings when a change could not be undone.</param>
    /// <exception cref="ArgumentException">An option is invalid; the parameter name names the option.</exception>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>).</exception>
    public static IDnsConfigurator Create(DnsConfiguratorOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        if (OperatingSystem.IsLinux())
        {
            return new LinuxResolvConfConfigurator(options.ResolvConfPath, options.EffectiveResolvConfBackupPath, logger);
        }

        if (OperatingSystem.IsMacOS())
        {
            return new MacOSResolverFileConfigurator(options.ResolverDirectory, logger);
        }

        if (OperatingSystem.IsWindows())
        {
            return new WindowsDnsConfigurator(logger);
        }

        throw new PlatformNotSupportedException(
            $"Steer's DNS configuration is only implemented for Linux, macOS and Windows; this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }
}
