namespace Steer.Tun.Dns;

/// <summary>Options for <see cref="DnsConfigurator.Create(DnsConfiguratorOptions, Microsoft.Extensions.Logging.ILogger?)"/>.</summary>
public sealed class DnsConfiguratorOptions
{
    /// <summary>The resolver configuration file on Linux.</summary>
    public const string DefaultResolvConfPath = "/etc/resolv.conf";

    /// <summary>The directory of per-domain resolver files on macOS (see <c>resolver(5)</c>).</summary>
    public const string DefaultResolverDirectory = "/etc/resolver";

    /// <summary>The D-Bus system bus of the D-Bus specification, used when neither the option nor <c>DBUS_SYSTEM_BUS_ADDRESS</c> names one.</summary>
    public const string DefaultSystemBusAddress = "unix:path=/run/dbus/system_bus_socket";

    /// <summary>systemd-resolved's list of the upstream servers it uses (not its stub file, which names 127.0.0.53).</summary>
    public const string DefaultResolvedUpstreamPath = "/run/systemd/resolve/resolv.conf";

    /// <summary>
    /// Linux: which backend to use. Defaults to <see cref="DnsBackend.Auto"/>: systemd-resolved when it is in charge
    /// (see <see cref="DnsConfigurator.DetectBackend(DnsConfiguratorOptions)"/>), otherwise resolv.conf. Forcing
    /// <see cref="DnsBackend.ResolvConf"/> or <see cref="DnsBackend.SystemdResolved"/> skips the detection; other
    /// systems accept only Auto or their own backend.
    /// </summary>
    public DnsBackend Backend { get; set; } = DnsBackend.Auto;

    /// <summary>
    /// Linux: the D-Bus address of the system bus, where systemd-resolved is reached. Defaults to null: the
    /// <c>DBUS_SYSTEM_BUS_ADDRESS</c> environment variable when set, otherwise <see cref="DefaultSystemBusAddress"/>.
    /// Tests point it at a private bus.
    /// </summary>
    public string? SystemBusAddress { get; set; }

    /// <summary>
    /// Linux with systemd-resolved: the file that lists the upstream servers resolved itself uses, read by
    /// <see cref="DnsConfigurator.GetSystemServers(DnsConfiguratorOptions)"/>. Defaults to <see cref="DefaultResolvedUpstreamPath"/>.
    /// </summary>
    public string ResolvedUpstreamPath { get; set; } = DefaultResolvedUpstreamPath;

    /// <summary>Linux: the file Steer rewrites. Defaults to <see cref="DefaultResolvConfPath"/>.</summary>
    public string ResolvConfPath { get; set; } = DefaultResolvConfPath;

    /// <summary>
    /// Linux: where the replaced file is kept until it is put back. Defaults to null, meaning
    /// <see cref="ResolvConfPath"/> followed by <c>.steer-backup</c>, next to it.
    /// </summary>
    public string? ResolvConfBackupPath { get; set; }

    /// <summary>macOS: the directory of per-domain resolver files. Defaults to <see cref="DefaultResolverDirectory"/>.</summary>
    public string ResolverDirectory { get; set; } = DefaultResolverDirectory;

    /// <summary>The backup path in effect (<see cref="ResolvConfBackupPath"/> or its default).</summary>
    internal string EffectiveResolvConfBackupPath => ResolvConfBackupPath ?? ResolvConfPath + ".steer-backup";

    /// <summary>The system bus address in effect (<see cref="SystemBusAddress"/>, <c>DBUS_SYSTEM_BUS_ADDRESS</c> or the default).</summary>
    internal string EffectiveSystemBusAddress
        => SystemBusAddress
           ?? (Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS") is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultSystemBusAddress);

    /// <summary>How long one D-Bus exchange (connect, or connect and calls) may take before it counts as failed. Tests shorten it.</summary>
    internal TimeSpan DBusTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks the options; the exception names the offending option.</summary>
    /// <param name="argumentName">The caller's parameter name, used as the prefix of the option's name.</param>
    /// <exception cref="ArgumentException">A path is empty or relative, or the backup path is the file itself.</exception>
    internal void Validate(string argumentName)
    {
        RequireAbsolute(ResolvConfPath, argumentName + "." + nameof(ResolvConfPath));
        if (ResolvConfBackupPath is not null)
        {
            RequireAbsolute(ResolvConfBackupPath, argumentName + "." + nameof(ResolvConfBackupPath));
        }

        if (string.Equals(Path.GetFullPath(EffectiveResolvConfBackupPath), Path.GetFullPath(ResolvConfPath), StringComparison.Ordinal))
        {
            throw new ArgumentException("DnsConfiguratorOptions.ResolvConfBackupPath must differ from ResolvConfPath.", argumentName + "." + nameof(ResolvConfBackupPath));
        }

        RequireAbsolute(ResolverDirectory, argumentName + "." + nameof(ResolverDirectory));
        RequireAbsolute(ResolvedUpstreamPath, argumentName + "." + nameof(ResolvedUpstreamPath));
        if (!Enum.IsDefined(Backend))
        {
            throw new ArgumentException($"DnsConfiguratorOptions.Backend {(int)Backend} is not a DnsBackend.", argumentName + "." + nameof(Backend));
        }

        if (SystemBusAddress is not null && string.IsNullOrWhiteSpace(SystemBusAddress))
        {
            throw new ArgumentException("DnsConfiguratorOptions.SystemBusAddress must be null (the default bus) or a D-Bus address such as unix:path=/run/dbus/system_bus_socket.", argumentName + "." + nameof(SystemBusAddress));
        }
    }

    private static void RequireAbsolute(string? path, string parameterName)
    {
        // Rooted rather than fully qualified: the Unix defaults stay valid when the options are built on Windows.
        if (string.IsNullOrWhiteSpace(path) || !Path.IsPathRooted(path))
        {
            throw new ArgumentException($"{parameterName} must be an absolute path, not '{path}'.", parameterName);
        }
    }
}
