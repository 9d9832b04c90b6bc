using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tmds.DBus.Protocol;

namespace Steer.Tun.Dns;

/// <summary>
/// Linux DNS through systemd-resolved: the tunnel interface becomes a resolved "link" with Steer's servers, over D-Bus
/// (<c>org.freedesktop.resolve1.Manager</c> on the system bus). Every name goes there (routing-only root domain "."
/// and default route), or only the listed domains (each a routing-only domain: split DNS). Nothing on disk changes;
/// <see cref="Dispose"/> calls <c>RevertLink</c>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Apply"/> calls, in this order: <c>SetLinkDNS</c> (<c>SetLinkDNSEx</c> when
/// <see cref="DnsConfiguration.Port"/> is not 53), <c>SetLinkDomains</c>, <c>SetLinkDefaultRoute</c> (true for every
/// name, false for split DNS), then <c>SetLinkLLMNR</c>, <c>SetLinkMulticastDNS</c>, <c>SetLinkDNSSEC</c> and
/// <c>SetLinkDNSOverTLS</c> with "no" (Steer's stub speaks plain DNS and nothing on the tunnel answers multicast). The
/// first three are required: if one fails the link is reverted and a <see cref="TunException"/> says why. The mode
/// settings are best effort (a warning each). A resolved without <c>SetLinkDefaultRoute</c> (before systemd 240) gets
/// a warning too.
/// </para>
/// <para>
/// Routing: resolved sends a link's queries out of that link (IP_UNICAST_IF, and SO_BINDTOIFINDEX while connecting),
/// so the servers must be reachable through the tunnel interface. An address assigned to the tunnel interface itself
/// is delivered locally even so; a loopback address such as 127.53.0.1 is not — the kernel routes it out of the TUN
/// (verified on Linux 6.18, UDP and TCP: <c>ResolvedLinkRoutingElevatedTests</c>). Loopback servers are therefore
/// rejected; Steer's stub listens on the tunnel's inner IPv4 address for this backend.
/// </para>
/// <para>
/// Crash safety: resolved keeps a link's settings in <c>/run/systemd/resolve/netif/&lt;ifindex&gt;</c> (so they
/// survive a restart of resolved) and forgets them when the link disappears. The TUN device vanishes with the Steer
/// process, so a killed Steer leaves nothing behind and there is nothing to recover.
/// </para>
/// <para>
/// Each Apply and Dispose is one short-lived system-bus connection (connect, authenticate, calls, close), bounded by
/// a timeout, so a restarted dbus-daemon or resolved between them does not matter.
/// </para>
/// </remarks>
internal sealed class SystemdResolvedConfigurator : IDnsConfigurator
{
    /// <summary>The per-link modes switched off on the tunnel link, in the order they are set.</summary>
    internal static readonly string[] ModesSwitchedOff = ["SetLinkLLMNR", "SetLinkMulticastDNS", "SetLinkDNSSEC", "SetLinkDNSOverTLS"];

    private readonly string _busAddress;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, string> _links = []; // links that may hold Steer's settings → their names for messages
    private bool _disposed;

    /// <summary>Creates the configurator; nothing is sent until <see cref="Apply"/>.</summary>
    /// <param name="busAddress">The system bus (a D-Bus address such as <c>unix:path=/run/dbus/system_bus_socket</c>).</param>
    /// <param name="timeout">How long one exchange with the bus (connect and all calls of an Apply or Dispose) may take.</param>
    /// <param name="logger">Change and restore messages.</param>
    internal SystemdResolvedConfigurator(string busAddress, TimeSpan timeout, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(busAddress);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _busAddress = busAddress;
        _timeout = timeout;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public DnsBackend Backend => DnsBackend.SystemdResolved;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><see cref="DnsConfiguration.InterfaceIndex"/> is not set, or a server is a
    /// loopback address (resolved would send its queries out of the tunnel interface, where it is not).</exception>
    public void Apply(DnsConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Validate(nameof(configuration));
        if (configuration.InterfaceIndex <= 0)
        {
            throw new ArgumentException(
                "With systemd-resolved, DnsConfiguration.InterfaceIndex must name the tunnel interface: its servers are set per link.",
                nameof(configuration) + "." + nameof(DnsConfiguration.InterfaceIndex));
        }

        foreach (IPAddress server in configuration.Servers)
        {
            if (IPAddress.IsLoopback(server))
            {
                throw new ArgumentException(
                    $"DnsConfiguration.Servers contains the loopback address {server}. systemd-resolved sends a link's queries out of that link, so the " +
                    "kernel would route them out of the tunnel interface instead of delivering them locally: use an address of the tunnel interface itself " +
                    "(its inner IPv4 address) and have the stub resolver listen there.",
                    nameof(configuration) + "." + nameof(DnsConfiguration.Servers));
            }
        }

        int index = configuration.InterfaceIndex;
        string link = LinkName(index, configuration.InterfaceName);
        List<(string Domain, bool RoutingOnly)> domains = ResolvedBus.LinkDomains(configuration);
        bool everyName = configuration.MatchDomains.Count == 0;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int[] others = _links.Keys.Where(k => k != index).ToArray();
            List<(string Setting, string Error)> refused;
            try
            {
                refused = ResolvedBus.Exchange(_busAddress, _timeout, connection => ApplyAsync(connection, configuration, domains, everyName, others));
            }
            catch (Exception e) when (ResolvedBus.IsBusFailure(e))
            {
                _links[index] = link; // possibly half-applied (a timeout): Dispose reverts it
                throw Failure($"point {link} at Steer's DNS servers", e);
            }

            foreach (int other in others)
            {
                DnsLog.Restored(_logger, "systemd-resolved settings of " + _links[other]);
                _links.Remove(other);
            }

            _links[index] = link;
            foreach ((string setting, string error) in refused)
            {
                DnsLog.SettingNotAccepted(_logger, "systemd-resolved " + link, setting, error);
            }

            string scope = everyName ? "every name" : "names in " + string.Join(", ", DnsConfiguration.NormalizeAll(configuration.MatchDomains));
            string port = configuration.Port == DnsConfiguration.DefaultPort ? string.Empty : $" port {configuration.Port}";
            DnsLog.Applied(_logger, $"systemd-resolved {link} ({scope})", string.Join(", ", configuration.Servers) + port);
        }
    }

    /// <summary>
    /// Reverts the link (<c>RevertLink</c>): resolved drops Steer's servers and domains and uses the link's defaults.
    /// A link that is already gone is not an error (resolved forgot its settings with it). Never throws.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach ((int index, string link) in _links)
            {
                string target = "systemd-resolved settings of " + link;
                try
                {
                    ResolvedBus.Exchange(_busAddress, _timeout, async connection =>
                    {
                        await connection.CallMethodAsync(ResolvedBus.RevertLink(connection, index)).ConfigureAwait(false);
                        return true;
                    });
                    DnsLog.Restored(_logger, target);
                }
                catch (DBusErrorReplyException e) when (e.ErrorName == ResolvedBus.NoSuchLinkError)
                {
                    DnsLog.Restored(_logger, target + " (the link is gone, and resolved forgot its settings with it)");
                }
                catch (Exception e) when (ResolvedBus.IsBusFailure(e))
                {
                    // resolved still drops them when the TUN device disappears, which it does when Steer exits.
                    DnsLog.RestoreFailed(_logger, Failure($"revert {link}", e), target);
                }
            }

            _links.Clear();
        }
    }

    /// <summary>The calls of one Apply; returns the best-effort settings resolved refused.</summary>
    private static async Task<List<(string Setting, string Error)>> ApplyAsync(
        DBusConnection connection, DnsConfiguration configuration, List<(string Domain, bool RoutingOnly)> domains, bool everyName, int[] others)
    {
        int index = configuration.InterfaceIndex;
        var refused = new List<(string Setting, string Error)>();
        foreach (int other in others)
        {
            await TryRevertAsync(connection, other).ConfigureAwait(false); // Apply moved to another interface
        }

        try
        {
            MessageBuffer servers = configuration.Port == DnsConfiguration.DefaultPort
                ? ResolvedBus.SetLinkDns(connection, index, configuration.Servers)
                : ResolvedBus.SetLinkDnsEx(connection, index, configuration.Servers, configuration.Port);
            await connection.CallMethodAsync(servers).ConfigureAwait(false);
            await connection.CallMethodAsync(ResolvedBus.SetLinkDomains(connection, index, domains)).ConfigureAwait(false);
            try
            {
                await connection.CallMethodAsync(ResolvedBus.SetLinkDefaultRoute(connection, index, everyName)).ConfigureAwait(false);
            }
            catch (DBusErrorReplyException e) when (e.ErrorName == ResolvedBus.UnknownMethodError)
            {
                // systemd before 240: no per-link default route; the routing domains above still apply.
                refused.Add(($"SetLinkDefaultRoute({everyName})", e.ErrorName));
            }
        }
        catch (DBusErrorReplyException e) when (e.ErrorName is not (ResolvedBus.ServiceUnknownError or ResolvedBus.NameHasNoOwnerError or ResolvedBus.NoSuchLinkError))
        {
            await TryRevertAsync(connection, index).ConfigureAwait(false); // leave no half-configured link behind
            throw;
        }

        foreach (string member in ModesSwitchedOff)
        {
            try
            {
                await connection.CallMethodAsync(ResolvedBus.SetLinkMode(connection, member, index, "no")).ConfigureAwait(false);
            }
            catch (DBusErrorReplyException e)
            {
                refused.Add(($"{member}(\"no\")", $"{e.ErrorName}: {e.ErrorMessage}"));
            }
        }

        return refused;
    }

    private static async Task TryRevertAsync(DBusConnection connection, int index)
    {
        try
        {
            await connection.CallMethodAsync(ResolvedBus.RevertLink(connection, index)).ConfigureAwait(false);
        }
        catch (DBusErrorReplyException)
        {
            // Gone or refused: nothing better to do here; the caller reports the original failure.
        }
    }

    private static string LinkName(int index, string? name) => string.IsNullOrEmpty(name) ? $"link #{index}" : $"link #{index} ({name})";

    /// <summary>Turns a bus failure into the exception callers handle, with a hint for the usual causes.</summary>
    private TunException Failure(string what, Exception e)
    {
        if (e is DBusErrorReplyException reply)
        {
            if (reply.ErrorName is ResolvedBus.ServiceUnknownError or ResolvedBus.NameHasNoOwnerError)
            {
                return new TunException(
                    $"Cannot {what}: systemd-resolved is not running ({reply.ErrorName}: {reply.ErrorMessage}). Steer never starts it; use DnsBackend.Auto " +
                    "(or ResolvConf) to configure /etc/resolv.conf instead.",
                    e);
            }

            bool denied = reply.ErrorName is ResolvedBus.AccessDeniedError or ResolvedBus.InteractiveAuthorizationRequiredError;
            string hint = reply.ErrorName switch
            {
                ResolvedBus.AccessDeniedError or ResolvedBus.InteractiveAuthorizationRequiredError => " Run steer as root (resolved requires CAP_NET_ADMIN or a polkit grant).",
                ResolvedBus.LinkBusyError => " systemd-networkd manages this interface; exclude Steer's TUN device from networkd's .network files.",
                ResolvedBus.NoSuchLinkError => " The interface does not exist (any more).",
                _ => string.Empty,
            };
            return new TunException($"systemd-resolved refused to {what}: {reply.ErrorName}: {reply.ErrorMessage}.{hint}", e) { IsPermissionDenied = denied };
        }

        if (e is TimeoutException)
        {
            return new TunException($"Cannot {what}: no answer on the system bus ({_busAddress}) within {_timeout.TotalSeconds:0.#} s.", e);
        }

        return new TunException($"Cannot {what}: the system bus ({_busAddress}) cannot be reached: {e.Message}", e);
    }
}
