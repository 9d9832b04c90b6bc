using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Steer.DnsStub;
using Steer.Policy;
using Steer.Tun;
using Steer.Tun.Dns;

namespace Steer;

/// <summary>
/// DNS while Steer is up: the OS resolves through Steer's stub resolver, which sends names that steered rules match
/// (and, in mode <c>all</c>, every name no exclude rule takes) to the gateway's resolver through the tunnel, the rest
/// to the resolver the OS had, and installs the answered addresses' routes before it answers.
/// </summary>
public sealed partial class SteerClient
{
    private DnsStubResolver? _dnsStub;
    private IDnsConfigurator? _dnsConfigurator;

    private DnsConfiguratorOptions DnsConfiguratorOptions => new() { ResolvConfPath = _options.ResolvConfPath };

    /// <summary>
    /// Undoes what a Steer process that was killed left on this machine: DNS configuration, and (with a
    /// <see cref="SteerClientOptions.StateDirectory"/>) the routes, rules and addresses in its journal. <see cref="StartAsync"/>
    /// does this first; <c>steer down --cleanup</c> calls it alone.
    /// </summary>
    /// <param name="options">The same paths the killed process used.</param>
    /// <param name="logger">Receives what was restored.</param>
    /// <returns>The number of changes undone (routes, rules, addresses, and 1 for the DNS configuration).</returns>
    public static int RecoverLeftovers(SteerClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        int undone = 0;
        if (options.StateDirectory is { } state)
        {
            undone += Router.RecoverLeftovers(JournalPath(state), logger);
        }

        if (DnsConfigurator.IsSupported && DnsConfigurator.RecoverLeftovers(new DnsConfiguratorOptions { ResolvConfPath = options.ResolvConfPath }, logger))
        {
            undone++;
        }

        return undone;
    }

    private static string JournalPath(string stateDirectory) => Path.Combine(stateDirectory, "router.journal");

    /// <summary>Starts the stub and points the OS at it, when the options, the policy and the gateway allow.</summary>
    private async Task StartDnsAsync(Session session, ITunDevice device, SteeringPolicy policy, CancellationToken ct)
    {
        if (_options.Dns == SteerDnsMode.Off || !DnsConfigurator.IsSupported)
        {
            return;
        }

        if (policy.Mode != PolicyMode.All && policy.Domains.Count == 0)
        {
            return; // Nothing depends on names: leave the OS's DNS alone.
        }

        IPAddress? tunnelResolver = session.Welcome.DnsServers
            .Select(s => IPAddress.TryParse(s, out IPAddress? a) ? a : null)
            .FirstOrDefault(a => a is not null && (a.AddressFamily == AddressFamily.InterNetwork || _innerIPv6 is not null));
        if (tunnelResolver is null)
        {
            LogNoGatewayResolver(_logger, session.Gateway.Name);
            return;
        }

        // systemd-resolved sends a link's queries out of that link (bound to the TUN), so there the stub must listen on
        // the TUN's own inner address (delivered locally); a loopback address would be written into the TUN.
        DnsBackend backend = DnsConfigurator.DetectBackend(DnsConfiguratorOptions);
        IPAddress listen = backend == DnsBackend.SystemdResolved && _innerIPv4 is { } inner ? inner.Address : _options.DnsListenAddress;
        IPAddress? direct = DnsConfigurator.GetSystemServers(DnsConfiguratorOptions).FirstOrDefault(a => !a.Equals(listen));
        if (direct is null)
        {
            LogNoDirectResolver(_logger, _options.ResolvConfPath);
        }

        var stub = await DnsStubResolver.StartAsync(
            new DnsStubResolverOptions
            {
                ListenEndPoint = new IPEndPoint(listen, 53),
                TunnelUpstream = new IPEndPoint(tunnelResolver, 53),
                DirectUpstream = new IPEndPoint(direct ?? tunnelResolver, 53),
                Matcher = policy.Domains,
                UnmatchedNames = policy.UnmatchedNameResolution,
                OnSteeredAnswer = OnDnsAnswer,
                OnExcludedAnswer = OnDnsAnswer,
                ConfigureUpstreamSocket = (socket, action) =>
                {
                    if (action == PolicyAction.Direct)
                    {
                        _protector.Protect(socket);
                    }
                },
            },
            null,
            ct).ConfigureAwait(false);
        IDnsConfigurator? configurator = null;
        try
        {
            configurator = DnsConfigurator.Create(DnsConfiguratorOptions, _logger);
            configurator.Apply(new DnsConfiguration { Servers = [listen], InterfaceIndex = device.InterfaceIndex, InterfaceName = device.Name });
        }
        catch
        {
            configurator?.Dispose();
            await stub.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _dnsStub = stub;
        _dnsConfigurator = configurator;
        LogDnsUp(_logger, backend.ToString(), stub.LocalEndPoint.ToString(), tunnelResolver.ToString(), direct?.ToString() ?? "-");
        UpdateStatus(s => s with { DnsStub = stub.LocalEndPoint.ToString() });
    }

    /// <summary>Puts the OS's DNS back, then stops the stub. Never throws.</summary>
    private async ValueTask StopDnsAsync()
    {
        _dnsConfigurator?.Dispose();
        _dnsConfigurator = null;
        if (_dnsStub is { } stub)
        {
            DnsStubStatistics stats = stub.Statistics;
            Interlocked.Add(ref _previousDnsSteered, stats.Steered);
            Interlocked.Add(ref _previousDnsDirect, stats.Direct);
            _dnsStub = null;
            await stub.DisposeAsync().ConfigureAwait(false);
        }

        UpdateStatus(s => s with { DnsStub = null });
    }

    private long _previousDnsSteered;
    private long _previousDnsDirect;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway {Gateway} offers no DNS resolver: the OS's DNS stays as it is, so domain rules cannot match and names resolve outside the tunnel")]
    private static partial void LogNoGatewayResolver(ILogger logger, string gateway);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No DNS server in {Path}: names that go direct are resolved through the tunnel too")]
    private static partial void LogNoDirectResolver(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "DNS ({Backend}): the OS resolves through {Stub}; steered names via {Tunnel} in the tunnel, the others via {Direct}")]
    private static partial void LogDnsUp(ILogger logger, string backend, string stub, string tunnel, string direct);
}
