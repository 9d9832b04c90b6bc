using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Tun.Dns;

/// <summary>
/// macOS split DNS through per-domain resolver files (<c>resolver(5)</c>): for every domain in
/// <see cref="DnsConfiguration.MatchDomains"/>, <c>/etc/resolver/&lt;domain&gt;</c> lists Steer's servers, and the
/// system resolver (mDNSResponder) sends that domain's names there. A file that existed before is kept in the sibling
/// directory <c>/etc/resolver.steer-backup</c> (a backup inside <c>/etc/resolver</c> would itself be read as a
/// resolver file) and put back on <see cref="Dispose"/>; a file another program rewrote meanwhile is left alone.
/// </summary>
/// <remarks>
/// Resolver files can only express split DNS. Every name (empty <see cref="DnsConfiguration.MatchDomains"/>) and search
/// domains go through the SystemConfiguration dynamic store instead, which <see cref="MacOSDnsConfigurator"/> (what
/// <c>DnsConfigurator.Create</c> returns on macOS) combines with this class; used alone, Apply throws
/// <see cref="NotSupportedException"/> for the former and logs that the latter are not applied. The class does only
/// file I/O, so it is unit-tested on a temporary directory on any OS.
/// </remarks>
internal sealed class MacOSResolverFileConfigurator : IDnsConfigurator
{
    /// <summary>The message of the <see cref="NotSupportedException"/> for "every name".</summary>
    internal const string AllNamesNotSupported =
        "/etc/resolver/<domain> files only send listed domains to Steer's servers. Every name goes through the SystemConfiguration " +
        "dynamic store (SCDynamicStore), which this resolver-file configurator does not use: create the configurator with DnsConfigurator.Create.";

    private readonly string _directory;
    private readonly string _backupDirectory;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, byte[]> _written = new(StringComparer.Ordinal);
    private readonly HashSet<string> _backedUp = new(StringComparer.Ordinal);
    private bool _started;
    private bool _createdDirectory;
    private bool _disposed;

    /// <summary>Creates the configurator; nothing is touched until <see cref="Apply"/>.</summary>
    /// <param name="directory">The resolver directory, normally <c>/etc/resolver</c>.</param>
    /// <param name="logger">Change and restore messages.</param>
    internal MacOSResolverFileConfigurator(string directory, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _directory = Path.TrimEndingDirectorySeparator(directory);
        _backupDirectory = _directory + ".steer-backup";
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public DnsBackend Backend => DnsBackend.MacOSResolverFiles;

    /// <summary>The text of the resolver file for <paramref name="domain"/> (exposed for tests).</summary>
    internal static string Render(DnsConfiguration configuration, string domain)
    {
        var text = new StringBuilder();
        text.Append(DnsFiles.Marker).Append(": names in ").Append(domain).Append(" are resolved through the tunnel");
        if (!string.IsNullOrEmpty(configuration.InterfaceName))
        {
            text.Append(" on ").Append(configuration.InterfaceName);
        }

        text.Append(".\n# Removed when Steer stops.\n");
        foreach (System.Net.IPAddress server in configuration.Servers)
        {
            text.Append("nameserver ").Append(server.ToString()).Append('\n');
        }

        if (configuration.Port != DnsConfiguration.DefaultPort)
        {
            text.Append("port ").Append(configuration.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }

        return text.ToString();
    }

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException"><see cref="DnsConfiguration.MatchDomains"/> is empty (every name).</exception>
    public void Apply(DnsConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Validate(nameof(configuration));
        if (configuration.MatchDomains.Count == 0)
        {
            throw new NotSupportedException(AllNamesNotSupported);
        }

        if (configuration.SearchDomains.Count > 0)
        {
            DnsLog.SearchDomainsIgnored(_logger, string.Join(", ", configuration.SearchDomains), "resolver files cannot set them; the SystemConfiguration dynamic store does (DnsConfigurator.Create)");
        }

        List<string> domains = DnsConfiguration.NormalizeAll(configuration.MatchDomains);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                if (!_started)
                {
                    _createdDirectory = !Directory.Exists(_directory);
                    Directory.CreateDirectory(_directory);
                    RecoverLeftovers();
                    _started = true;
                }

                foreach (string stale in _written.Keys.Except(domains).ToList())
                {
                    Restore(stale);
                }

                foreach (string domain in domains)
                {
                    string path = Path.Combine(_directory, domain);
                    if (!_written.TryGetValue(domain, out byte[]? previous))
                    {
                        Backup(domain);
                    }
                    else if (!Matches(path, previous))
                    {
                        DnsLog.ForeignRewrite(_logger, path, "Steer writes its servers again and will put that program's file back when it stops");
                        Backup(domain);
                    }

                    byte[] content = Encoding.UTF8.GetBytes(Render(configuration, domain));
                    DnsFiles.WriteAtomically(path, content);
                    _written[domain] = content;
                }

                DnsLog.Applied(_logger, $"{_directory}/{{{string.Join(",", domains)}}}", string.Join(", ", configuration.Servers));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TunException($"Cannot write resolver files in {_directory}: {e.Message}{(e is UnauthorizedAccessException ? " Run steer with sudo." : string.Empty)}", e)
                {
                    IsPermissionDenied = e is UnauthorizedAccessException,
                };
            }
        }
    }

    /// <summary>Removes Steer's resolver files and puts back the ones they replaced. Never throws.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (string domain in _written.Keys.ToList())
            {
                Restore(domain);
            }

            try
            {
                DeleteIfEmpty(_backupDirectory);
                if (_createdDirectory)
                {
                    DeleteIfEmpty(_directory);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                DnsLog.RestoreFailed(_logger, e, _directory);
            }
        }
    }

    private void Backup(string domain)
    {
        string path = Path.Combine(_directory, domain);
        string backup = Path.Combine(_backupDirectory, domain);
        if (DnsFiles.Exists(path))
        {
            Directory.CreateDirectory(_backupDirectory);
            DnsFiles.Replicate(path, backup);
            _backedUp.Add(domain);
        }
        else
        {
            DnsFiles.Delete(backup);
            _backedUp.Remove(domain);
        }
    }

    private void Restore(string domain)
    {
        string path = Path.Combine(_directory, domain);
        string backup = Path.Combine(_backupDirectory, domain);
        try
        {
            byte[] written = _written[domain];
            _written.Remove(domain);
            if (!Matches(path, written))
            {
                DnsLog.ForeignRewrite(_logger, path, _backedUp.Contains(domain) ? $"the file Steer replaced is kept as {backup}" : "Steer created it");
                return;
            }

            if (_backedUp.Remove(domain))
            {
                File.Move(backup, path, overwrite: true);
            }
            else
            {
                DnsFiles.Delete(path);
            }

            DnsLog.Restored(_logger, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            DnsLog.RestoreFailed(_logger, e, path);
        }
    }

    /// <summary>
    /// Runs the leftover check of the first <see cref="Apply"/> now, without writing anything (for
    /// <c>DnsConfigurator.RecoverLeftovers</c>: <c>steer down --cleanup</c> and start-up). A missing directory is not an error.
    /// </summary>
    /// <returns>True when a Steer file or a backup was found (put back, removed, or dropped as stale).</returns>
    /// <exception cref="TunException">A file could not be put back or removed.</exception>
    internal bool RecoverLeftoversNow()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                bool found = Directory.Exists(_directory) && RecoverLeftovers();
                if (Directory.Exists(_backupDirectory))
                {
                    found |= Directory.EnumerateFileSystemEntries(_backupDirectory).Any();
                    foreach (string backup in Directory.EnumerateFiles(_backupDirectory))
                    {
                        DnsFiles.Delete(backup); // its directory is gone or has no Steer file for it: stale
                    }

                    DeleteIfEmpty(_backupDirectory);
                }

                return found;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TunException($"Cannot clean up Steer's resolver files in {_directory}: {e.Message}{(e is UnauthorizedAccessException ? " Run steer with sudo." : string.Empty)}", e)
                {
                    IsPermissionDenied = e is UnauthorizedAccessException,
                };
            }
        }
    }

    /// <summary>
    /// Files of an earlier run that did not stop cleanly: a Steer file with a backup gets the backup back, a Steer
    /// file without one is removed, and a backup whose file someone rewrote since is stale and removed.
    /// </summary>
    /// <returns>True when a Steer file or a backup was found.</returns>
    private bool RecoverLeftovers()
    {
        bool found = false;
        if (Directory.Exists(_backupDirectory))
        {
            foreach (string backup in Directory.EnumerateFiles(_backupDirectory))
            {
                found = true;
                string path = Path.Combine(_directory, Path.GetFileName(backup));
                if (DnsFiles.IsSteerFile(path))
                {
                    File.Move(backup, path, overwrite: true);
                    DnsLog.Leftover(_logger, path, $"put back the file saved as {backup}");
                }
                else
                {
                    DnsFiles.Delete(backup);
                }
            }
        }

        foreach (string path in Directory.EnumerateFiles(_directory))
        {
            if (DnsFiles.IsSteerFile(path))
            {
                found = true;
                DnsFiles.Delete(path);
                DnsLog.Leftover(_logger, path, "removed it");
            }
        }

        return found;
    }

    private static bool Matches(string path, byte[] expected)
    {
        byte[]? current = DnsFiles.ReadRegular(path);
        return current is not null && current.AsSpan().SequenceEqual(expected);
    }

    private static void DeleteIfEmpty(string directory)
    {
        if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
        }
    }
}
