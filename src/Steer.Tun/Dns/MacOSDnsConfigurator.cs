using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Tun.Dns;

/// <summary>
/// macOS DNS: every name (and search domains) through Steer's entry in the SystemConfiguration dynamic store, split
/// DNS through per-domain resolver files. Which goes where, and why, is explained on <see cref="MacOSDnsStorePlan"/>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Apply"/> with no <see cref="DnsConfiguration.MatchDomains"/> writes
/// <c>State:/Network/Service/&lt;Steer's id&gt;/DNS</c> = { ServerAddresses, SupplementalMatchDomains [""] and the
/// search domains, SearchDomains, SearchOrder 100000, ServerPort when not 53 }, then removes resolver files an earlier
/// split <see cref="Apply"/> wrote. With match domains it writes one <c>/etc/resolver/&lt;domain&gt;</c> file each
/// (<see cref="MacOSResolverFileConfigurator"/>), then writes the store entry for the search domains, or removes it
/// when there are none. New settings are always in place before old ones go.
/// </para>
/// <para>
/// Restoring: <see cref="Dispose"/> removes the store entry (when it is still Steer's) and the resolver files (putting
/// back files they replaced). After a crash: the store entry is a temporary value of Steer's configd session and
/// disappears with the process; resolver files are put right by the next <see cref="Apply"/> or by
/// <see cref="RecoverLeftovers"/> (<c>DnsConfigurator.RecoverLeftovers</c>: <c>steer down --cleanup</c> and every start).
/// </para>
/// <para>
/// Only file I/O and the <see cref="IMacOSDynamicStore"/> it is given, so it is unit-tested on any OS with a
/// temporary directory and a fake store; <see cref="CreateNative"/> gives it configd. Compiled here, never run on a Mac.
/// </para>
/// </remarks>
internal sealed class MacOSDnsConfigurator : IDnsConfigurator
{
    private readonly string _resolverDirectory;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly MacOSDynamicStoreEntry _entry;
    private MacOSResolverFileConfigurator? _files;
    private bool _disposed;

    /// <summary>Creates the configurator; nothing changes until <see cref="Apply"/>.</summary>
    /// <param name="resolverDirectory">The resolver directory, normally <c>/etc/resolver</c>.</param>
    /// <param name="openStore">Opens a dynamic-store session (called at the first write).</param>
    /// <param name="logger">Change and restore messages.</param>
    internal MacOSDnsConfigurator(string resolverDirectory, Func<IMacOSDynamicStore> openStore, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(resolverDirectory);
        ArgumentNullException.ThrowIfNull(openStore);
        _resolverDirectory = resolverDirectory;
        _logger = logger ?? NullLogger.Instance;
        _entry = new MacOSDynamicStoreEntry(MacOSDnsStorePlan.DnsKey, openStore, _logger);
    }

    /// <inheritdoc/>
    public DnsBackend Backend => DnsBackend.MacOSResolverFiles;

    /// <summary>The configurator with configd's dynamic store.</summary>
    [SupportedOSPlatform("macos")]
    internal static MacOSDnsConfigurator CreateNative(string resolverDirectory, ILogger? logger)
        => new(resolverDirectory, MacOSDynamicStore.Open, logger);

    /// <inheritdoc/>
    /// <exception cref="TunException">A resolver file could not be written, or configd refused the store entry
    /// (<see cref="TunException.IsPermissionDenied"/> when not root).</exception>
    public void Apply(DnsConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Validate(nameof(configuration));
        MacOSStoreDictionary? entry = MacOSDnsStorePlan.StoreEntry(configuration);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (MacOSDnsStorePlan.IsEveryName(configuration))
            {
                _entry.Write(entry!);
                _files?.Dispose();
                _files = null;
                DnsLog.Applied(_logger, $"{MacOSDnsStorePlan.DnsKey} (every name{SearchText(configuration)})", ServerText(configuration));
                return;
            }

            _files ??= new MacOSResolverFileConfigurator(_resolverDirectory, _logger);
            _files.Apply(new DnsConfiguration
            {
                Servers = configuration.Servers,
                Port = configuration.Port,
                MatchDomains = configuration.MatchDomains,
                InterfaceIndex = configuration.InterfaceIndex,
                InterfaceName = configuration.InterfaceName,
            });
            if (entry is not null)
            {
                _entry.Write(entry);
                DnsLog.Applied(_logger, $"{MacOSDnsStorePlan.DnsKey} (search domains{SearchText(configuration)})", ServerText(configuration));
            }
            else
            {
                _entry.Clear();
            }
        }
    }

    /// <summary>Removes Steer's store entry and resolver files and puts back the files they replaced. Never throws.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _entry.Dispose();
            _files?.Dispose();
            _files = null;
        }
    }

    /// <summary>
    /// Undoes what a Steer process that did not stop cleanly left: its resolver files in
    /// <paramref name="resolverDirectory"/> (a file with a backup gets the backup back, one without is removed) and a
    /// value under <see cref="MacOSDnsStorePlan.DnsKey"/> (removed; normally configd already dropped it with the
    /// process's session).
    /// </summary>
    /// <returns>True when something was found and handled.</returns>
    /// <exception cref="TunException">A file or the store entry could not be put right (permission: not root).</exception>
    internal static bool RecoverLeftovers(string resolverDirectory, Func<IMacOSDynamicStore> openStore, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(openStore);
        bool files;
        using (var resolverFiles = new MacOSResolverFileConfigurator(resolverDirectory, logger))
        {
            files = resolverFiles.RecoverLeftoversNow();
        }

        using IMacOSDynamicStore store = openStore();
        bool entry = MacOSDynamicStoreEntry.RecoverLeftover(store, MacOSDnsStorePlan.DnsKey, logger);
        return files || entry;
    }

    private static string ServerText(DnsConfiguration configuration)
        => string.Join(", ", configuration.Servers)
           + (configuration.Port == DnsConfiguration.DefaultPort ? string.Empty : " port " + configuration.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static string SearchText(DnsConfiguration configuration)
        => configuration.SearchDomains.Count == 0 ? string.Empty : "; search " + string.Join(" ", DnsConfiguration.NormalizeAll(configuration.SearchDomains));
}
