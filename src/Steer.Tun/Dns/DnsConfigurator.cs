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

    /// <summary>
    /// Undoes what a Steer process that did not stop cleanly left in the DNS configuration (Linux: puts back the
    /// resolv.conf it replaced, when the file is still Steer's). Returns true when something was restored.
    /// Never throws for a missing file; other platforms: nothing to do yet (false).
    /// </summary>
    /// <param name="options">The paths Steer used.</param>
    /// <param name="logger">Receives what was restored.</param>
    /// <returns>True when a leftover was found and handled.</returns>
    public static bool RecoverLeftovers(DnsConfiguratorOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        using var configurator = new LinuxResolvConfConfigurator(options.ResolvConfPath, options.EffectiveResolvConfBackupPath, logger);
        return configurator.RecoverLeftoverNow();
    }

    /// <summary>
    /// The DNS servers the OS uses now (Linux: the <c>nameserver</c> lines of resolv.conf; elsewhere: the DNS servers of
    /// the interfaces that are up). Empty when none are known.
    /// </summary>
    /// <param name="options">Paths (Linux: which resolv.conf).</param>
    /// <returns>The servers, in the OS's order, without duplicates.</returns>
    public static IReadOnlyList<System.Net.IPAddress> GetSystemServers(DnsConfiguratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var servers = new List<System.Net.IPAddress>();
        if (OperatingSystem.IsLinux())
        {
            string text;
            try
            {
                text = File.ReadAllText(options.ResolvConfPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return servers;
            }

            servers.AddRange(ParseResolvConfServers(text));
        }
        else
        {
            foreach (System.Net.NetworkInformation.NetworkInterface nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
                {
                    servers.AddRange(nic.GetIPProperties().DnsAddresses);
                }
            }
        }

        return servers.Distinct().ToList();
    }

    /// <summary>The <c>nameserver</c> addresses of a resolv.conf text (comments and bad lines ignored).</summary>
    internal static IEnumerable<System.Net.IPAddress> ParseResolvConfServers(string text)
    {
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (!line.StartsWith("nameserver", StringComparison.Ordinal))
            {
                continue;
            }

            string[] parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && parts[0] == "nameserver" && System.Net.IPAddress.TryParse(parts[1].Split('%')[0], out System.Net.IPAddress? address))
            {
                yield return address;
            }
        }
    }
}
