using Microsoft.Extensions.Logging;

namespace Steer.Tun.Dns;

/// <summary>Creates the <see cref="IDnsConfigurator"/> of the operating system Steer runs on.</summary>
public static class DnsConfigurator
{
    /// <summary>
    /// True on Linux (systemd-resolved or <c>/etc/resolv.conf</c>), macOS (the SystemConfiguration dynamic store and
    /// <c>/etc/resolver</c>) and Windows (interface DNS + NRPT).
    /// </summary>
    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsWindows();

    /// <summary>Creates the configurator with the default options.</summary>
    /// <param name="logger">Receives one message per change and warnings when a change could not be undone.</param>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>).</exception>
    public static IDnsConfigurator Create(ILogger? logger = null) => Create(new DnsConfiguratorOptions(), logger);

    /// <summary>
    /// Creates the configurator of the backend <see cref="DetectBackend(DnsConfiguratorOptions)"/> chooses. On Linux:
    /// systemd-resolved over D-Bus (every name or split DNS, per tunnel link) where it is in charge, otherwise one that
    /// rewrites <c>/etc/resolv.conf</c> (every name only). On macOS one that sends every name (and search domains)
    /// to the servers through an entry of Steer's own in the SystemConfiguration dynamic store, and listed domains
    /// through per-domain files in <c>/etc/resolver</c> (split DNS); on Windows one that sets the interface's DNS servers
    /// and adds an NRPT rule. Nothing changes until
    /// <see cref="IDnsConfigurator.Apply"/>; the chosen backend is logged and is <see cref="IDnsConfigurator.Backend"/>.
    /// </summary>
    /// <param name="options">Backend, paths and bus address (tests point them at temporary files and a private bus).</param>
    /// <param name="logger">Receives the chosen backend, one message per change and warnings when a change could not be undone.</param>
    /// <exception cref="ArgumentException">An option is invalid; the parameter name names the option.</exception>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>), or
    /// <see cref="DnsConfiguratorOptions.Backend"/> names a backend of another OS.</exception>
    public static IDnsConfigurator Create(DnsConfiguratorOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        (DnsBackend backend, string reason) = Detect(options, ProbeResolved);
        if (logger is not null)
        {
            DnsLog.BackendChosen(logger, backend, reason);
        }

        return backend switch
        {
            DnsBackend.SystemdResolved => new SystemdResolvedConfigurator(options.EffectiveSystemBusAddress, options.DBusTimeout, logger),
            DnsBackend.ResolvConf => new LinuxResolvConfConfigurator(options.ResolvConfPath, options.EffectiveResolvConfBackupPath, logger),
            DnsBackend.MacOSResolverFiles => CreateMacOS(options, logger),
            _ => CreateWindows(logger),
        };
    }

    /// <summary>
    /// The backend <see cref="Create(DnsConfiguratorOptions, ILogger?)"/> uses with these options, without creating
    /// it. On Linux with <see cref="DnsBackend.Auto"/>: <see cref="DnsBackend.SystemdResolved"/> when systemd-resolved
    /// is in charge — <see cref="DnsConfiguratorOptions.ResolvConfPath"/> sends lookups to resolved's stub listener (it
    /// is a symbolic link to <c>/run/systemd/resolve/stub-resolv.conf</c> or <c>/usr/lib/systemd/resolv.conf</c>, or a
    /// file whose only nameserver is 127.0.0.53), the bus name <c>org.freedesktop.resolve1</c> has an owner on the
    /// system bus (<c>NameHasOwner</c>), and that owner runs in the caller's network namespace (so that it sees Steer's
    /// TUN device); otherwise <see cref="DnsBackend.ResolvConf"/>. A link to
    /// <c>/run/systemd/resolve/resolv.conf</c> (resolved's upstream list) does not count: programs then query those
    /// servers directly and never ask resolved. Elsewhere: the OS's only backend.
    /// </summary>
    /// <param name="options">Backend (a forced one is returned as it is), the resolv.conf path and the bus address.</param>
    /// <returns>The backend; never <see cref="DnsBackend.Auto"/>.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="PlatformNotSupportedException">As for <see cref="Create(DnsConfiguratorOptions, ILogger?)"/>.</exception>
    public static DnsBackend DetectBackend(DnsConfiguratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        return Detect(options, ProbeResolved).Backend;
    }

    /// <summary>The detection with an injectable bus check (tests), and the reason that is logged.</summary>
    internal static (DnsBackend Backend, string Reason) Detect(DnsConfiguratorOptions options, Func<DnsConfiguratorOptions, ResolvedPresence> probeResolved)
    {
        if (OperatingSystem.IsLinux())
        {
            return DetectLinux(options, probeResolved);
        }

        if (OperatingSystem.IsMacOS())
        {
            return (RequireOwnBackend(options, DnsBackend.MacOSResolverFiles), "the SystemConfiguration dynamic store (every name, search domains) and /etc/resolver files (split DNS) of macOS");
        }

        if (OperatingSystem.IsWindows())
        {
            return (RequireOwnBackend(options, DnsBackend.WindowsNrpt), "interface DNS servers and an NRPT rule");
        }

        throw new PlatformNotSupportedException(
            $"Steer's DNS configuration is only implemented for Linux, macOS and Windows; this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }

    /// <summary>The Linux part of <see cref="Detect"/>; pure apart from reading the resolv.conf link and the injected bus check.</summary>
    internal static (DnsBackend Backend, string Reason) DetectLinux(DnsConfiguratorOptions options, Func<DnsConfiguratorOptions, ResolvedPresence> probeResolved)
    {
        switch (options.Backend)
        {
            case DnsBackend.ResolvConf:
            case DnsBackend.SystemdResolved:
                return (options.Backend, "chosen by DnsConfiguratorOptions.Backend");
            case DnsBackend.Auto:
                break;
            default:
                throw new PlatformNotSupportedException($"DNS backend {options.Backend} does not exist on Linux; use Auto, ResolvConf or SystemdResolved.");
        }

        string path = options.ResolvConfPath;
        string? stub = ResolvedStubUse(path, out string? notStub);
        if (stub is null)
        {
            return (DnsBackend.ResolvConf, notStub ?? $"{path} does not send lookups to systemd-resolved");
        }

        return probeResolved(options) switch
        {
            ResolvedPresence.Here => (DnsBackend.SystemdResolved, $"{path} {stub}, and {ResolvedBus.ServiceName} is on the system bus"),
            ResolvedPresence.OtherNetworkNamespace => (DnsBackend.ResolvConf,
                $"{path} {stub}, but systemd-resolved runs in another network namespace than Steer, so it cannot see Steer's TUN device (and the same interface index may name one of its own links)"),
            _ => (DnsBackend.ResolvConf, $"{path} {stub}, but {ResolvedBus.ServiceName} has no owner on the system bus ({options.EffectiveSystemBusAddress}), so systemd-resolved does not run"),
        };
    }

    /// <summary>Whether systemd-resolved can configure Steer's TUN device: on the bus, and in the caller's network namespace.</summary>
    internal enum ResolvedPresence
    {
        /// <summary><c>org.freedesktop.resolve1</c> has no owner, or the bus cannot be reached.</summary>
        Absent,

        /// <summary>resolved runs and sees the links of the calling thread's network namespace (or that cannot be told).</summary>
        Here,

        /// <summary>resolved runs in another network namespace (Steer in a namespace of its own, e.g. the lab): its links are not Steer's.</summary>
        OtherNetworkNamespace,
    }

    /// <summary>The files of systemd-resolved whose only nameserver is its stub listener 127.0.0.53.</summary>
    internal static readonly string[] ResolvedStubFiles = ["/run/systemd/resolve/stub-resolv.conf", "/usr/lib/systemd/resolv.conf", "/lib/systemd/resolv.conf"];

    /// <summary>systemd-resolved's stub listener.</summary>
    internal static readonly System.Net.IPAddress ResolvedStubAddress = System.Net.IPAddress.Parse("127.0.0.53");

    /// <summary>
    /// How <paramref name="path"/> sends lookups to resolved's stub listener ("links to …" or "names only 127.0.0.53"),
    /// or null when it does not; <paramref name="notStub"/> then says why when that is worth telling (a link to
    /// resolved's upstream list). A link counts when its target, or the end of its chain of links, is a stub file.
    /// </summary>
    internal static string? ResolvedStubUse(string path, out string? notStub)
    {
        notStub = null;
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is string target)
            {
                string direct = Path.GetFullPath(target, Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/");
                string? final = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
                foreach (string candidate in final is null ? [direct] : new[] { direct, final })
                {
                    if (ResolvedStubFiles.Contains(candidate, StringComparer.Ordinal))
                    {
                        return "links to " + candidate;
                    }
                }

                if (direct == DnsConfiguratorOptions.DefaultResolvedUpstreamPath || final == DnsConfiguratorOptions.DefaultResolvedUpstreamPath)
                {
                    notStub = $"{path} links to {DnsConfiguratorOptions.DefaultResolvedUpstreamPath}: programs query the upstream servers listed there directly, not systemd-resolved";
                }

                return null;
            }

            if (!info.Exists)
            {
                return null;
            }

            List<System.Net.IPAddress> servers = ParseResolvConfServers(File.ReadAllText(path)).ToList();
            return servers.Count == 1 && servers[0].Equals(ResolvedStubAddress) ? "names only systemd-resolved's stub 127.0.0.53" : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            notStub = $"{path} cannot be read ({e.Message})";
            return null;
        }
    }

    /// <summary>
    /// Asks the system bus whether <c>org.freedesktop.resolve1</c> has an owner and, if so, that owner's process id
    /// (<c>GetConnectionUnixProcessID</c>), whose network namespace (<c>/proc/&lt;pid&gt;/ns/net</c>) is compared with
    /// the calling thread's: interface indexes only mean something inside one namespace. Absent when the bus cannot be
    /// reached; Here when the namespaces cannot be read (then resolved is trusted to be the host's).
    /// </summary>
    internal static ResolvedPresence ProbeResolved(DnsConfiguratorOptions options)
    {
        uint? owner;
        try
        {
            owner = ResolvedBus.Exchange(options.EffectiveSystemBusAddress, options.DBusTimeout, async connection =>
            {
                if (!await ResolvedBus.NameHasOwnerAsync(connection, ResolvedBus.ServiceName).ConfigureAwait(false))
                {
                    return (uint?)null;
                }

                try
                {
                    return await ResolvedBus.GetConnectionUnixProcessIdAsync(connection, ResolvedBus.ServiceName).ConfigureAwait(false);
                }
                catch (Tmds.DBus.Protocol.DBusErrorReplyException)
                {
                    return 0u; // unknown: the bus would not say
                }
            });
        }
        catch (Exception e) when (ResolvedBus.IsBusFailure(e))
        {
            return ResolvedPresence.Absent;
        }

        if (owner is not { } pid)
        {
            return ResolvedPresence.Absent;
        }

        string? theirs = pid == 0 ? null : NetworkNamespaceOf($"/proc/{pid}/ns/net");
        string? ours = NetworkNamespaceOf("/proc/thread-self/ns/net");
        return theirs is not null && ours is not null && theirs != ours ? ResolvedPresence.OtherNetworkNamespace : ResolvedPresence.Here;
    }

    /// <summary>The target of a <c>/proc/…/ns/net</c> link ("net:[4026531840]"), or null when it cannot be read.</summary>
    private static string? NetworkNamespaceOf(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static DnsBackend RequireOwnBackend(DnsConfiguratorOptions options, DnsBackend own)
        => options.Backend == DnsBackend.Auto || options.Backend == own
            ? own
            : throw new PlatformNotSupportedException($"DNS backend {options.Backend} does not exist on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; use Auto or {own}.");

    private static IDnsConfigurator CreateMacOS(DnsConfiguratorOptions options, ILogger? logger)
        => OperatingSystem.IsMacOS()
            ? MacOSDnsConfigurator.CreateNative(options.ResolverDirectory, logger)
            : throw new PlatformNotSupportedException("The macOS DNS configurator only runs on macOS.");

    private static IDnsConfigurator CreateWindows(ILogger? logger)
        => OperatingSystem.IsWindows()
            ? new WindowsDnsConfigurator(logger)
            : throw new PlatformNotSupportedException("The Windows DNS configurator only runs on Windows.");

    /// <summary>
    /// Undoes what a Steer process that did not stop cleanly left in the DNS configuration (Linux: puts back the
    /// resolv.conf it replaced, when the file is still Steer's; macOS: puts back or removes its files in
    /// <see cref="DnsConfiguratorOptions.ResolverDirectory"/> and removes a value left under its dynamic-store key — which
    /// configd normally drops by itself when the process's session ends). Returns true when something was restored.
    /// Never throws for a missing file; Windows: nothing to do yet (false). The systemd-resolved backend leaves
    /// nothing to recover: resolved forgets a link's settings when the link disappears, and Steer's TUN device
    /// disappears with the process.
    /// </summary>
    /// <param name="options">The paths Steer used.</param>
    /// <param name="logger">Receives what was restored.</param>
    /// <returns>True when a leftover was found and handled.</returns>
    public static bool RecoverLeftovers(DnsConfiguratorOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        if (OperatingSystem.IsMacOS())
        {
            return MacOSDnsConfigurator.RecoverLeftovers(options.ResolverDirectory, MacOSDynamicStore.Open, logger);
        }

        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        using var configurator = new LinuxResolvConfConfigurator(options.ResolvConfPath, options.EffectiveResolvConfBackupPath, logger);
        return configurator.RecoverLeftoverNow();
    }

    /// <summary>
    /// The DNS servers the OS uses now (Linux: the <c>nameserver</c> lines of resolv.conf; elsewhere: the DNS servers of
    /// the interfaces that are up). Empty when none are known. Call it before <see cref="IDnsConfigurator.Apply"/>.
    /// </summary>
    /// <remarks>
    /// Linux with systemd-resolved (<see cref="DnsConfiguratorOptions.Backend"/> SystemdResolved, or Auto and resolv.conf
    /// sending lookups to resolved's stub): the upstream servers resolved uses, from
    /// <see cref="DnsConfiguratorOptions.ResolvedUpstreamPath"/>, and never the stub 127.0.0.53 — once the tunnel link
    /// routes every name to Steer, a query Steer's stub sent to 127.0.0.53 would come straight back to it. When that
    /// file names no server, the resolv.conf servers other than 127.0.0.53 are returned.
    /// </remarks>
    /// <param name="options">Paths (Linux: which resolv.conf, and resolved's upstream list).</param>
    /// <returns>The servers, in the OS's order, without duplicates.</returns>
    public static IReadOnlyList<System.Net.IPAddress> GetSystemServers(DnsConfiguratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var servers = new List<System.Net.IPAddress>();
        if (OperatingSystem.IsLinux())
        {
            bool resolved = options.Backend == DnsBackend.SystemdResolved
                || (options.Backend == DnsBackend.Auto && ResolvedStubUse(options.ResolvConfPath, out _) is not null);
            if (resolved)
            {
                servers.AddRange(ReadServers(options.ResolvedUpstreamPath).Where(a => !a.Equals(ResolvedStubAddress)));
            }

            if (servers.Count == 0)
            {
                servers.AddRange(ReadServers(options.ResolvConfPath).Where(a => !resolved || !a.Equals(ResolvedStubAddress)));
            }
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

    private static IEnumerable<System.Net.IPAddress> ReadServers(string path)
    {
        try
        {
            return ParseResolvConfServers(File.ReadAllText(path)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
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
