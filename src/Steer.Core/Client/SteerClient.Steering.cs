using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Steer.Policy;
using Steer.Tun;

namespace Steer;

/// <summary>
/// Steering in the kernel: which destinations reach the TUN. On Linux: Steer's own routing tables and policy rules
/// (port classes by <c>ipproto</c>/<c>dport</c> selectors, Steer's sockets marked so they bypass every Steer table);
/// elsewhere: routes in the main table. Plus the addresses learned from DNS answers for domain rules.
/// </summary>
/// <remarks>
/// Linux layout, from <see cref="SteerClientOptions.RoutingTableBase"/> (b, default 5300), per address family:
/// <code>
/// priority b     fwmark M            lookup main      Steer's own sockets never enter a Steer table
/// priority b+1   to A [ipproto dport] lookup b+1|main  learned addresses of domain rules with ports, and excluded names
/// priority b+2   lookup b                              learned addresses of domain includes without ports (host routes)
/// priority b+10+2k   ipproto P dport R lookup b+10+k   port class k (e.g. web mode's tcp/80): its prefixes, throw for the rest
/// priority b+11+2k   ipproto P dport R lookup main     ... and what table b+10+k throws goes direct, not to the general table
/// priority b+90  lookup b+2                            the general prefixes
/// table b+1: default dev TUN (target of the learned rules that steer)
/// </code>
/// Always-direct networks (gateways, connected networks, reserved ranges) are <c>throw</c> routes in every Steer
/// table, so the lookup falls through to the next rule and, at the end, to the main table.
/// </remarks>
public sealed partial class SteerClient
{
    private const int MaxPortClasses = 39;

    private readonly Lock _steeringLock = new();
    private readonly ConcurrentDictionary<UInt128, LearnedAddress> _learned = new();
    private SteeringPolicy? _policy;
    private int _tunIndex;
    private bool _policyRouting;

    /// <summary>The policy compiled from the tenant configuration (null before the interface exists).</summary>
    internal SteeringPolicy? Policy => Volatile.Read(ref _policy);

    private int DomainTable => _options.RoutingTableBase;

    private int TunAllTable => _options.RoutingTableBase + 1;

    private int GeneralTable => _options.RoutingTableBase + 2;

    private int PortTable(int k) => _options.RoutingTableBase + 10 + k;

    /// <summary>
    /// Compiles the policy with the gateways' addresses and the networks the machine is connected to now (both always
    /// direct).
    /// </summary>
    internal static SteeringPolicy CompilePolicy(Configuration.TenantConfiguration config, IEnumerable<IPNetwork> connected)
    {
        SteeringPolicyOptions options = SteeringPolicyOptions.FromSettings(config.Steering);
        foreach (Configuration.GatewayEndpoint gateway in config.Gateways)
        {
            if (IPAddress.TryParse(gateway.Address, out IPAddress? ip))
            {
                options.GatewayAddresses.Add(ip);
            }
        }

        foreach (IPNetwork network in connected)
        {
            options.ConnectedNetworks.Add(network);
        }

        return SteeringPolicy.Create(options);
    }

    /// <summary>
    /// The steering policy a client would use on this machine now: the tenant's rules, with the gateways' addresses
    /// and the networks the machine is connected to as always direct. For <c>steer policy explain</c> and embedders.
    /// </summary>
    /// <param name="configuration">The tenant configuration.</param>
    /// <returns>The compiled policy.</returns>
    public static SteeringPolicy CreatePolicy(Configuration.TenantConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return CompilePolicy(configuration, ConnectedNetworks(-1));
    }

    /// <summary>The networks of the machine's interfaces (not loopback, not Steer's own TUN).</summary>
    private static List<IPNetwork> ConnectedNetworks(int tunIndex)
    {
        var networks = new List<IPNetwork>();
        foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.NetworkInterfaceType == NetworkInterfaceType.Loopback || nic.OperationalStatus == OperationalStatus.Down)
            {
                continue;
            }

            IPInterfaceProperties properties = nic.GetIPProperties();
            if (InterfaceIndex(properties) == tunIndex)
            {
                continue;
            }

            foreach (UnicastIPAddressInformation unicast in properties.UnicastAddresses)
            {
                IPAddress address = unicast.Address;
                if (address.IsIPv6LinkLocal || unicast.PrefixLength <= 0)
                {
                    continue; // fe80::/10 is always direct anyway.
                }

                networks.Add(new IPNetwork(InterfaceAddress.Mask(address, unicast.PrefixLength), unicast.PrefixLength));
            }
        }

        return networks;

        static int InterfaceIndex(IPInterfaceProperties p)
        {
            try
            {
                return p.GetIPv4Properties()?.Index ?? p.GetIPv6Properties()?.Index ?? -1;
            }
            catch (NetworkInformationException)
            {
                return p.GetIPv6Properties()?.Index ?? -1;
            }
        }
    }

    /// <summary>Installs the steering of <paramref name="policy"/> for the TUN <paramref name="tunIndex"/>.</summary>
    private void ApplySteering(IRouter router, int tunIndex, SteeringPolicy policy, bool hasIPv6)
    {
        _tunIndex = tunIndex;
        _policyRouting = router.SupportsPolicyRules;
        _learned.Clear();
        if (_policyRouting)
        {
            ApplyPolicyRouting(router, tunIndex, policy, hasIPv6);
        }
        else
        {
            ApplyMainTableRoutes(router, tunIndex, policy, hasIPv6);
        }

        Volatile.Write(ref _policy, policy);
    }

    private void ApplyPolicyRouting(IRouter router, int tun, SteeringPolicy policy, bool hasIPv6)
    {
        RouteSet routes = RouteSet.Compute(policy, carveOutAlwaysDirect: false);
        if (routes.PortClasses.Count > MaxPortClasses)
        {
            throw new Configuration.TenantConfigurationException(
                $"steering: the rules need {routes.PortClasses.Count} port classes (distinct port ranges whose destinations differ); at most {MaxPortClasses} are supported. Merge port rules.");
        }

        int b = _options.RoutingTableBase;
        foreach (AddressFamily family in hasIPv6 ? [AddressFamily.InterNetwork, AddressFamily.InterNetworkV6] : new[] { AddressFamily.InterNetwork })
        {
            bool v6 = family == AddressFamily.InterNetworkV6;
            IPNetwork any = new(v6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            IEnumerable<IPNetwork> direct = routes.AlwaysDirect.Where(n => n.BaseAddress.AddressFamily == family);

            router.AddRule(new RoutingRule(family, b, RouteEntry.MainTable) { FirewallMark = _options.FirewallMark });
            router.AddRule(new RoutingRule(family, b + 2, DomainTable));
            router.AddRoute(new RouteEntry(any, tun, Table: TunAllTable));
            for (int k = 0; k < routes.PortClasses.Count; k++)
            {
                PortRouteSet portClass = routes.PortClasses[k];
                FillTable(router, PortTable(k), tun, portClass.Prefixes.Where(n => n.BaseAddress.AddressFamily == family), direct);
                var selector = new RoutingRule(family, b + 10 + (2 * k), PortTable(k))
                {
                    IpProtocol = (ProtocolType)portClass.Protocol,
                    DestinationPorts = ((ushort)portClass.FirstPort, (ushort)portClass.LastPort),
                };
                router.AddRule(selector);
                router.AddRule(selector with { Priority = b + 11 + (2 * k), Table = RouteEntry.MainTable });
            }

            FillTable(router, GeneralTable, tun, routes.Prefixes.Where(n => n.BaseAddress.AddressFamily == family), direct);
            router.AddRule(new RoutingRule(family, b + 90, GeneralTable));
        }
    }

    private static void FillTable(IRouter router, int table, int tun, IEnumerable<IPNetwork> steered, IEnumerable<IPNetwork> direct)
    {
        foreach (IPNetwork prefix in steered)
        {
            router.AddRoute(new RouteEntry(prefix, tun, Table: table));
        }

        foreach (IPNetwork prefix in direct)
        {
            router.AddRoute(new RouteEntry(prefix, 0, Table: table) { Type = RouteType.Throw });
        }
    }

    /// <summary>
    /// Without policy rules (macOS, Windows): routes in the main table. Ports cannot select a route there, so every
    /// port class's prefixes are steered for all ports (more is steered than the policy asks, never less).
    /// </summary>
    private void ApplyMainTableRoutes(IRouter router, int tun, SteeringPolicy policy, bool hasIPv6)
    {
        RouteSet routes = RouteSet.Compute(policy, carveOutAlwaysDirect: true);
        IEnumerable<IPNetwork> steered = routes.Prefixes.Concat(routes.PortClasses.SelectMany(c => c.Prefixes)).Distinct();
        if (routes.PortClasses.Count > 0)
        {
            LogPortRulesWithoutPolicyRouting(_logger, routes.PortClasses.Count);
        }

        foreach (IPNetwork prefix in steered)
        {
            if (prefix.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 && !hasIPv6)
            {
                continue; // No inner IPv6: leave IPv6 alone rather than black-holing it.
            }

            foreach (IPNetwork part in SplitDefault(prefix))
            {
                router.AddRoute(new RouteEntry(part, tun));
            }
        }
    }

    /// <summary>
    /// Called by the DNS stub before it answers: learns the addresses of a name that domain rules match and installs
    /// their routes/rules, so that the first connection to them is already steered (or kept direct).
    /// </summary>
    private ValueTask OnDnsAnswer(DnsStub.DnsResolvedAddresses answer, CancellationToken ct)
    {
        SteeringPolicy? policy = Volatile.Read(ref _policy);
        IRouter? router = _router;
        if (policy is null || router is null)
        {
            return ValueTask.CompletedTask;
        }

        PolicyRule[] rules = policy.Domains.GetAllMatchingRules(answer.Name);
        if (rules.Length == 0)
        {
            return ValueTask.CompletedTask;
        }

        policy.AddResolvedAddresses(answer.Name, answer.Addresses);
        long now = Environment.TickCount64;
        lock (_steeringLock)
        {
            foreach ((IPAddress address, TimeSpan ttl) in answer.Addresses)
            {
                long expires = now + (long)Math.Max(ttl.TotalMilliseconds, _options.LearnedRouteLifetime.TotalMilliseconds);
                UInt128 key = SteeringPolicy.ResolvedKey(address);
                if (_learned.TryGetValue(key, out LearnedAddress? known))
                {
                    known.ExpiresAt = Math.Max(known.ExpiresAt, expires);
                    continue; // Routed already (a name's rules do not change while Steer runs).
                }

                if (IsAlwaysDirect(policy, address) || (address.AddressFamily == AddressFamily.InterNetworkV6 && _innerIPv6 is null))
                {
                    continue;
                }

                var learned = new LearnedAddress(address, expires) { LastUsed = now };
                InstallLearned(router, learned, rules);
                _learned[key] = learned;
            }
        }

        return ValueTask.CompletedTask;
    }

    private static bool IsAlwaysDirect(SteeringPolicy policy, IPAddress address)
        => policy.Decide(address).Rule.Origin is PolicyRuleOrigin.Gateway or PolicyRuleOrigin.ConnectedNetwork or PolicyRuleOrigin.Reserved;

    /// <summary>
    /// The domain rules of the name, in precedence order, become kernel state for one address: each ported rule a
    /// policy rule with its selector (most specific first), the first rule without ports a host route in the domain
    /// table (include) or a rule to the main table (exclude). Rules after it can never decide.
    /// </summary>
    private void InstallLearned(IRouter router, LearnedAddress learned, PolicyRule[] rules)
    {
        IPAddress address = learned.Address;
        var host = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        int priority = _options.RoutingTableBase + 1;
        foreach (PolicyRule rule in rules)
        {
            if (!_policyRouting)
            {
                // Main table only: a host route for names that are steered at all.
                if (rule.Action == PolicyAction.Tunnel)
                {
                    learned.Routes.Add(new RouteEntry(host, _tunIndex));
                }

                break;
            }

            var kernelRule = new RoutingRule(address.AddressFamily, priority, rule.Action == PolicyAction.Tunnel ? TunAllTable : RouteEntry.MainTable)
            {
                Destination = host,
            };
            if (rule.HasPorts)
            {
                learned.Rules.Add(kernelRule with
                {
                    IpProtocol = (ProtocolType)rule.Protocol,
                    DestinationPorts = ((ushort)rule.FirstPort, (ushort)rule.LastPort),
                });
                continue;
            }

            if (rule.Action == PolicyAction.Tunnel)
            {
                learned.Routes.Add(new RouteEntry(host, _tunIndex, Table: DomainTable));
            }
            else
            {
                learned.Rules.Add(kernelRule);
            }

            break;
        }

        foreach (RoutingRule rule in learned.Rules)
        {
            router.AddRule(rule);
        }

        foreach (RouteEntry route in learned.Routes)
        {
            router.AddRoute(route);
        }

        LogLearned(_logger, address.ToString(), learned.Routes.Count, learned.Rules.Count);
    }

    /// <summary>Notes that a packet to a learned address went through the TUN (keeps its route alive). No allocation.</summary>
    private void TouchLearned(ReadOnlySpan<byte> packet)
    {
        if (_learned.IsEmpty || !SteeringPolicy.TryParsePacket(packet, out UInt128 destination, out bool isIPv6, out _, out _))
        {
            return;
        }

        if (_learned.TryGetValue(SteeringPolicy.ResolvedKey(destination, isIPv6), out LearnedAddress? learned))
        {
            learned.LastUsed = Environment.TickCount64;
        }
    }

    /// <summary>
    /// Removes the routes of learned addresses whose lifetime is over and that no packet used for
    /// <see cref="SteerClientOptions.LearnedRouteLifetime"/>. Called periodically.
    /// </summary>
    private int ExpireLearned()
    {
        IRouter? router = _router;
        SteeringPolicy? policy = Volatile.Read(ref _policy);
        if (router is null || _learned.IsEmpty)
        {
            return 0;
        }

        long now = Environment.TickCount64;
        long idle = (long)_options.LearnedRouteLifetime.TotalMilliseconds;
        int removed = 0;
        HashSet<IPAddress>? connected = null;
        lock (_steeringLock)
        {
            foreach (KeyValuePair<UInt128, LearnedAddress> pair in _learned)
            {
                LearnedAddress learned = pair.Value;
                if (learned.ExpiresAt > now || now - learned.LastUsed < idle)
                {
                    continue;
                }

                // A connection still uses the address (a quiet one through the tunnel, or any direct one, which the
                // TUN never sees): removing the route now would move it to the other path in mid-flow.
                connected ??= SocketTable.GetConnectedRemoteAddresses();
                if (connected.Contains(learned.Address))
                {
                    learned.LastUsed = now;
                    continue;
                }

                foreach (RouteEntry route in learned.Routes)
                {
                    router.RemoveRoute(route);
                }

                foreach (RoutingRule rule in learned.Rules)
                {
                    router.RemoveRule(rule);
                }

                _learned.TryRemove(pair);
                removed++;
            }
        }

        policy?.RemoveExpiredResolvedAddresses(address => _learned.ContainsKey(SteeringPolicy.ResolvedKey(address)));
        return removed;
    }

    /// <summary>An address learned from a DNS answer, and the kernel state made for it.</summary>
    private sealed class LearnedAddress(IPAddress address, long expiresAt)
    {
        public IPAddress Address { get; } = address;

        public long ExpiresAt { get; set; } = expiresAt;

        public long LastUsed { get; set; }

        public List<RouteEntry> Routes { get; } = [];

        public List<RoutingRule> Rules { get; } = [];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "This OS has no policy routing: {Count} port rule class(es) are steered for every port of their destinations")]
    private static partial void LogPortRulesWithoutPolicyRouting(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Learned {Address} from DNS: {Routes} route(s), {Rules} rule(s)")]
    private static partial void LogLearned(ILogger logger, string address, int routes, int rules);
}
