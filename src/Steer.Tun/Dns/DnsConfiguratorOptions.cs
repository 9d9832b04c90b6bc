namespace Steer.Tun.Dns;

/// <summary>Options for <see cref="DnsConfigurator.Create(DnsConfiguratorOptions, Microsoft.Extensions.Logging.ILogger?)"/>.</summary>
public sealed class DnsConfiguratorOptions
{
    /// <summary>The resolver configuration file on Linux.</summary>
    public const string DefaultResolvConfPath = "/etc/resolv.conf";

    /// <summary>The directory of per-domain resolver files on macOS (see <c>resolver(5)</c>).</summary>
    public const string DefaultResolverDirectory = "/etc/resolver";

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
