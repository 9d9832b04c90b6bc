using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Tun.Dns;

/// <summary>
/// Linux DNS through <c>/etc/resolv.conf</c> (the path is configurable): the first <see cref="Apply"/> keeps an exact
/// replica of the current file next to it (a symbolic link stays a link, e.g. systemd-resolved's stub file), then
/// replaces the file atomically with Steer's servers. <see cref="Dispose"/> renames the replica back, unless another
/// program rewrote the file meanwhile: that program's file is then left alone, with a warning.
/// </summary>
/// <remarks>
/// resolv.conf applies to every name, so only <see cref="DnsConfiguration.MatchDomains"/> = empty is supported; split DNS
/// on Linux needs systemd-resolved (per-link DNS over D-Bus), which is a separate backend
/// (<see cref="SystemdResolvedConfigurator"/>). The class does only file
/// I/O, so it is not tied to Linux and is unit-tested on temporary files. A replica left by a run that did not stop
/// cleanly is put back before the next one starts.
/// </remarks>
internal sealed class LinuxResolvConfConfigurator : IDnsConfigurator
{
    private readonly string _path;
    private readonly string _backupPath;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private bool _saved;
    private bool _originalExisted;
    private byte[]? _written;
    private bool _disposed;

    /// <summary>Creates the configurator; nothing is touched until <see cref="Apply"/>.</summary>
    /// <param name="path">The resolver file, normally <c>/etc/resolv.conf</c>.</param>
    /// <param name="backupPath">Where the replaced file is kept meanwhile, normally next to it.</param>
    /// <param name="logger">Change and restore messages.</param>
    internal LinuxResolvConfConfigurator(string path, string backupPath, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(backupPath);
        _path = path;
        _backupPath = backupPath;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public DnsBackend Backend => DnsBackend.ResolvConf;

    /// <summary>The text written for a configuration (exposed for tests).</summary>
    internal static string Render(DnsConfiguration configuration, string backupPath)
    {
        var text = new StringBuilder();
        text.Append(DnsFiles.Marker).Append(": DNS through the tunnel");
        if (!string.IsNullOrEmpty(configuration.InterfaceName))
        {
            text.Append(" on ").Append(configuration.InterfaceName);
        }

        text.Append(".\n# The replaced file is kept as ").Append(backupPath).Append(" and put back when Steer stops.\n");
        foreach (System.Net.IPAddress server in configuration.Servers)
        {
            text.Append("nameserver ").Append(server.ToString()).Append('\n');
        }

        List<string> search = DnsConfiguration.NormalizeAll(configuration.SearchDomains);
        if (search.Count > 0)
        {
            text.Append("search ").Append(string.Join(' ', search)).Append('\n');
        }

        return text.ToString();
    }

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException"><see cref="DnsConfiguration.MatchDomains"/> is not empty, or
    /// <see cref="DnsConfiguration.Port"/> is not 53.</exception>
    public void Apply(DnsConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Validate(nameof(configuration));
        if (configuration.MatchDomains.Count > 0)
        {
            throw new NotSupportedException(
                $"{_path} sends every name to the same servers, so DNS for only some domains ({string.Join(", ", configuration.MatchDomains)}) " +
                "cannot be configured through it; that needs systemd-resolved (DnsBackend.SystemdResolved), which is used where it runs. " +
                "Leave MatchDomains empty to send every name through the tunnel.");
        }

        if (configuration.Port != DnsConfiguration.DefaultPort)
        {
            throw new NotSupportedException($"{_path} cannot name a DNS port (resolv.conf servers are always reached on port 53), so port {configuration.Port} cannot be configured through it.");
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                if (!_saved)
                {
                    RecoverLeftover();
                    SaveOriginal();
                }
                else if (!IsStillOurs())
                {
                    DnsLog.ForeignRewrite(_logger, _path, "Steer writes its servers again and will put that program's file back when it stops");
                    SaveOriginal();
                }

                byte[] content = Encoding.UTF8.GetBytes(Render(configuration, _backupPath));
                DnsFiles.WriteAtomically(_path, content);
                _written = content;
                DnsLog.Applied(_logger, _path, string.Join(", ", configuration.Servers));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TunException($"Cannot point {_path} at Steer's DNS servers: {e.Message}{(e is UnauthorizedAccessException ? " Run steer as root." : string.Empty)}", e)
                {
                    IsPermissionDenied = e is UnauthorizedAccessException,
                };
            }
        }
    }

    /// <summary>Puts the replaced file back unless another program rewrote Steer's. Never throws.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (!_saved)
            {
                return;
            }

            try
            {
                if (!IsStillOurs())
                {
                    DnsLog.ForeignRewrite(_logger, _path, DnsFiles.Exists(_backupPath) ? $"the file Steer replaced is kept as {_backupPath}" : "Steer's backup is gone");
                    return;
                }

                if (_originalExisted)
                {
                    File.Move(_backupPath, _path, overwrite: true);
                }
                else
                {
                    DnsFiles.Delete(_path);
                    DnsFiles.Delete(_backupPath);
                }

                DnsLog.Restored(_logger, _path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                DnsLog.RestoreFailed(_logger, e, _path);
            }
        }
    }

    /// <summary>True while the file is exactly what Steer last wrote.</summary>
    private bool IsStillOurs()
    {
        byte[]? current = DnsFiles.ReadRegular(_path);
        return current is not null && _written is not null && current.AsSpan().SequenceEqual(_written);
    }

    /// <summary>Keeps a replica of the current file (or notes that there is none).</summary>
    private void SaveOriginal()
    {
        _originalExisted = DnsFiles.Exists(_path);
        if (_originalExisted)
        {
            DnsFiles.Replicate(_path, _backupPath);
        }
        else
        {
            DnsFiles.Delete(_backupPath);
        }

        _saved = true;
    }

    /// <summary>Runs the leftover check of <see cref="Apply"/> now (for <c>steer down --cleanup</c> and start-up).</summary>
    /// <returns>True when a backup was found (put back, or removed as stale).</returns>
    internal bool RecoverLeftoverNow()
    {
        lock (_gate)
        {
            bool found = DnsFiles.Exists(_backupPath);
            try
            {
                RecoverLeftover();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TunException($"Cannot restore {_path} from {_backupPath}: {e.Message}", e) { IsPermissionDenied = e is UnauthorizedAccessException };
            }

            return found;
        }
    }

    /// <summary>
    /// A backup at start means an earlier run did not stop cleanly. If the file is still that run's, the backup is
    /// the real original and goes back first; otherwise someone has since rewritten the file and the backup is stale.
    /// </summary>
    private void RecoverLeftover()
    {
        if (!DnsFiles.Exists(_backupPath))
        {
            return;
        }

        if (DnsFiles.IsSteerFile(_path))
        {
            File.Move(_backupPath, _path, overwrite: true);
            DnsLog.Leftover(_logger, _path, $"put back the file saved as {_backupPath}");
        }
        else
        {
            DnsFiles.Delete(_backupPath);
            DnsLog.Leftover(_logger, _backupPath, "it is stale (the file has been rewritten since) and was removed");
        }
    }
}
