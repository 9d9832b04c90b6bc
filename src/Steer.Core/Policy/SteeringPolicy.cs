using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Steer.Policy;

/// <summary>
/// A compiled steering policy: decides for a destination address (or a whole IP packet) whether it goes through the
/// tunnel or direct, and which rule decided. Thread-safe; lookups allocate nothing.
/// </summary>
/// <remarks>
/// Precedence, first match wins (see <c>docs/steering.md</c>):
/// <list type="number">
/// <item>Always direct: the gateways' addresses, the connected networks, loopback, link-local, multicast and limited
/// broadcast — whatever the rules say.</item>
/// <item>Addresses learned from DNS answers for names that match domain rules (<see cref="AddResolvedAddresses"/>):
/// an exact name before a wildcard, a longer wildcard suffix before a shorter one.</item>
/// <item>Network rules and rules for any destination: the longest prefix first (any destination is a /0).</item>
/// <item>The default: tunnel in <see cref="PolicyMode.All"/> (a /0 rule, so it takes part in step 3), direct otherwise.</item>
/// </list>
/// At one prefix or name, a rule with ports beats one without, a narrower port range beats a wider one, and on a tie
/// exclude beats include. A rule whose protocol or ports do not match the packet does not match at all.
/// Cost of a lookup, whatever the number of rules: a binary search on the prefix lengths present (at most 6 hash probes
/// for IPv4 and 8 for IPv6) in the always-direct table and in the rule table, plus one probe for the learned addresses.
/// </remarks>
public sealed partial class SteeringPolicy
{
    /// <summary>The networks that never leave the host or the link and so are always direct.</summary>
    public static IReadOnlyList<IPNetwork> ReservedNetworks { get; } = Array.AsReadOnly(new[]
    {
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("255.255.255.255/32"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("ff00::/8"),
    });

    private static readonly PolicyRule[] s_webRules =
    [
        PolicyRule.ForAnyDestination(PolicyRuleKind.Include, PolicyRuleOrigin.Mode, PolicyRule.Tcp, 80, 80, "mode web: tcp/80"),
        PolicyRule.ForAnyDestination(PolicyRuleKind.Include, PolicyRuleOrigin.Mode, PolicyRule.Tcp, 443, 443, "mode web: tcp/443"),
        PolicyRule.ForAnyDestination(PolicyRuleKind.Include, PolicyRuleOrigin.Mode, PolicyRule.Udp, 443, 443, "mode web: udp/443"),
    ];

    private static readonly UInt128 MappedPrefix = (UInt128)0xFFFF << 32;

    private readonly PrefixTable _always4;
    private readonly PrefixTable _always6;
    private readonly PrefixTable _rules4;
    private readonly PrefixTable _rules6;
    private readonly PolicyRule _default;
    private readonly TimeProvider _timeProvider;
    private readonly ConcurrentDictionary<UInt128, ResolvedAddress> _resolved = new();
    private int _resolvedCount;

    private SteeringPolicy(SteeringPolicyOptions options)
    {
        Mode = options.Mode;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;

        // Duplicates (same kind and text) are dropped: the rules of one prefix are tried one after another, so a
        // thousand copies of `tcp/443` would cost a microsecond on every packet that falls through to /0.
        var rules = new List<PolicyRule>();
        var seen = new HashSet<(PolicyRuleKind, string)>();
        foreach (PolicyRule rule in options.Rules ?? [])
        {
            ArgumentNullException.ThrowIfNull(rule, nameof(options));
            if (seen.Add((rule.Kind, rule.Text)))
            {
                rules.Add(rule);
            }
        }

        switch (Mode)
        {
            case PolicyMode.All:
                _default = PolicyRule.ForAnyDestination(PolicyRuleKind.Include, PolicyRuleOrigin.Mode, 0, 0, 0, "mode all: everything");
                rules.Add(_default);
                break;
            case PolicyMode.Web:
                rules.AddRange(s_webRules);
                _default = PolicyRule.ForAnyDestination(PolicyRuleKind.Exclude, PolicyRuleOrigin.Default, 0, 0, 0, "mode web: not a web port or included");
                break;
            case PolicyMode.Listed:
                _default = PolicyRule.ForAnyDestination(PolicyRuleKind.Exclude, PolicyRuleOrigin.Default, 0, 0, 0, "mode listed: not included");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), Mode, "Unknown policy mode.");
        }

        Rules = rules.AsReadOnly();

        var always = new List<PolicyRule>();
        foreach (IPAddress gateway in options.GatewayAddresses ?? [])
        {
            IPAddress address = gateway.IsIPv4MappedToIPv6 ? gateway.MapToIPv4() : gateway;
            always.Add(PolicyRule.ForNetwork(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128),
                PolicyRuleKind.Exclude, PolicyRuleOrigin.Gateway));
        }

        foreach (IPNetwork network in options.ConnectedNetworks ?? [])
        {
            // Connected networks come from interface addresses (192.168.1.7/24): keep the network part only.
            always.Add(PolicyRule.ForNetwork(new IPNetwork(Masked(network.BaseAddress, network.PrefixLength), network.PrefixLength),
                PolicyRuleKind.Exclude, PolicyRuleOrigin.ConnectedNetwork));
        }

        foreach (IPNetwork network in ReservedNetworks)
        {
            always.Add(PolicyRule.ForNetwork(network, PolicyRuleKind.Exclude, PolicyRuleOrigin.Reserved));
        }

        AlwaysDirectRules = always.AsReadOnly();
        (_rules4, _rules6) = BuildTables(rules);
        (_always4, _always6) = BuildTables(always);
        Domains = new DomainMatcher(rules);
    }

    /// <summary>The mode the policy was compiled with.</summary>
    public PolicyMode Mode { get; }

    /// <summary>The configured rules plus the mode's own rules (the web ports, or "everything" in mode all).</summary>
    public IReadOnlyList<PolicyRule> Rules { get; }

    /// <summary>The rules that are always direct: gateways, connected networks, reserved networks.</summary>
    public IReadOnlyList<PolicyRule> AlwaysDirectRules { get; }

    /// <summary>The domain rules, for the DNS stub and for explaining a host name.</summary>
    public DomainMatcher Domains { get; }

    /// <summary>
    /// The rule that decides when nothing else matches: an include of everything in <see cref="PolicyMode.All"/>,
    /// a direct default otherwise.
    /// </summary>
    public PolicyRule DefaultRule => _default;

    /// <summary>
    /// Where names that no domain rule decides are resolved: through the tunnel in <see cref="PolicyMode.All"/> (so that
    /// no DNS query leaves the physical interface), direct otherwise.
    /// </summary>
    public PolicyAction UnmatchedNameResolution => Mode == PolicyMode.All ? PolicyAction.Tunnel : PolicyAction.Direct;

    /// <summary>The number of addresses currently learned from DNS answers.</summary>
    public int ResolvedAddressCount => Volatile.Read(ref _resolvedCount);

    /// <summary>Compiles a policy.</summary>
    /// <param name="options">The mode, rules and run-time facts.</param>
    /// <returns>The policy.</returns>
    public static SteeringPolicy Create(SteeringPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new SteeringPolicy(options);
    }

    /// <summary>Decides for a destination address.</summary>
    /// <param name="destination">An IPv4 or IPv6 address (IPv4-mapped IPv6 counts as IPv4).</param>
    /// <param name="protocol">6 (TCP), 17 (UDP), another protocol number, or 0 when unknown.</param>
    /// <param name="port">The destination port, or negative when unknown or not applicable.</param>
    /// <returns>The decision and the deciding rule.</returns>
    public PolicyDecision Decide(IPAddress destination, int protocol = 0, int port = -1)
    {
        ArgumentNullException.ThrowIfNull(destination);
        UInt128 key = PrefixTable.ToKey(destination, out bool isIPv6);
        return Decide(key, isIPv6, protocol, port);
    }

    /// <summary>Decides for a destination address given as its 4 or 16 bytes in network order.</summary>
    /// <param name="destination">4 bytes (IPv4) or 16 bytes (IPv6).</param>
    /// <param name="protocol">6 (TCP), 17 (UDP), another protocol number, or 0 when unknown.</param>
    /// <param name="port">The destination port, or negative when unknown or not applicable.</param>
    /// <returns>The decision and the deciding rule.</returns>
    /// <exception cref="ArgumentException">The span is neither 4 nor 16 bytes long.</exception>
    public PolicyDecision Decide(ReadOnlySpan<byte> destination, int protocol, int port) => destination.Length switch
    {
        4 => Decide(BinaryPrimitives.ReadUInt32BigEndian(destination), isIPv6: false, protocol, port),
        16 => Decide(BinaryPrimitives.ReadUInt128BigEndian(destination), isIPv6: true, protocol, port),
        _ => throw new ArgumentException("A destination address is 4 (IPv4) or 16 (IPv6) bytes long.", nameof(destination)),
    };

    /// <summary>
    /// Decides for a host name by its domain rules alone (for <c>steer policy explain example.com</c>); when no
    /// domain rule decides, the name's addresses decide, through <see cref="Decide(IPAddress, int, int)"/>.
    /// </summary>
    /// <param name="hostName">The host name.</param>
    /// <param name="protocol">6 (TCP), 17 (UDP), or 0 when unknown.</param>
    /// <param name="port">The destination port, or negative when unknown.</param>
    /// <param name="decision">The decision, when a domain rule decides.</param>
    /// <returns>True when a domain rule decides.</returns>
    public bool TryDecideName(string hostName, int protocol, int port, out PolicyDecision decision)
    {
        ArgumentNullException.ThrowIfNull(hostName);
        PolicyRule? rule = Domains.Decide(hostName, protocol, port);
        decision = rule is null ? default : new PolicyDecision(rule.Action, rule);
        return rule is not null;
    }

    /// <summary>
    /// Learns the addresses a name resolved to, so that packets to them are decided by the name's domain rules. Call
    /// it from the DNS stub's answer callback; addresses whose name matches no domain rule are not learned.
    /// </summary>
    /// <param name="name">The name that was asked for.</param>
    /// <param name="addresses">The answered addresses and their time to live.</param>
    /// <returns>The number of addresses learned (0 when the name matches no domain rule).</returns>
    public int AddResolvedAddresses(string name, IEnumerable<(IPAddress Address, TimeSpan Ttl)> addresses)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(addresses);
        PolicyRule[] rules = Domains.GetAllMatchingRules(name);
        if (rules.Length == 0)
        {
            return 0;
        }

        long now = _timeProvider.GetTimestamp();
        int learned = 0;
        foreach ((IPAddress address, TimeSpan ttl) in addresses)
        {
            long expires = now + (long)(Math.Max(0, ttl.TotalSeconds) * _timeProvider.TimestampFrequency);
            UInt128 key = ResolvedKey(address);
            _resolved.AddOrUpdate(key,
                static (_, state) =>
                {
                    Interlocked.Increment(ref state.Policy._resolvedCount);
                    return new ResolvedAddress(state.Rules, state.Expires);
                },
                static (_, existing, state) => new ResolvedAddress(
                    MergeDomainRules(existing.Rules, state.Rules), Math.Max(existing.ExpiresAt, state.Expires)),
                (Policy: this, Rules: rules, Expires: expires));
            learned++;
        }

        return learned;
    }

    /// <summary>Forgets learned addresses whose time to live has passed, except those <paramref name="keep"/> accepts.</summary>
    /// <param name="keep">Returns true for addresses still in use (for example by a live flow); null keeps none.</param>
    /// <returns>The addresses forgotten.</returns>
    public IReadOnlyList<IPAddress> RemoveExpiredResolvedAddresses(Func<IPAddress, bool>? keep = null)
    {
        long now = _timeProvider.GetTimestamp();
        var removed = new List<IPAddress>();
        foreach (KeyValuePair<UInt128, ResolvedAddress> pair in _resolved)
        {
            if (pair.Value.ExpiresAt > now)
            {
                continue;
            }

            IPAddress address = FromResolvedKey(pair.Key);
            if (keep?.Invoke(address) == true)
            {
                continue;
            }

            if (_resolved.TryRemove(pair))
            {
                Interlocked.Decrement(ref _resolvedCount);
                removed.Add(address);
            }
        }

        return removed;
    }

    /// <summary>The rule tables of one family, for <see cref="RouteSet"/>.</summary>
    internal PrefixTable GetRuleTable(bool isIPv6) => isIPv6 ? _rules6 : _rules4;

    /// <summary>The always-direct tables of one family, for <see cref="RouteSet"/>.</summary>
    internal PrefixTable GetAlwaysDirectTable(bool isIPv6) => isIPv6 ? _always6 : _always4;

    internal PolicyDecision Decide(UInt128 address, bool isIPv6, int protocol, int port)
    {
        PolicyRule? rule = (isIPv6 ? _always6 : _always4).Lookup(address, 0, -1);
        if (rule is not null)
        {
            return new PolicyDecision(PolicyAction.Direct, rule);
        }

        if (Volatile.Read(ref _resolvedCount) > 0
            && _resolved.TryGetValue(isIPv6 ? address : MappedPrefix | address, out ResolvedAddress? resolved))
        {
            foreach (PolicyRule candidate in resolved.Rules)
            {
                if (candidate.MatchesPort(protocol, port))
                {
                    return new PolicyDecision(candidate.Action, candidate);
                }
            }
        }

        rule = (isIPv6 ? _rules6 : _rules4).Lookup(address, protocol, port) ?? _default;
        return new PolicyDecision(rule.Action, rule);
    }

    /// <summary>The key of an address in the learned-address dictionaries (IPv4 as its IPv4-mapped IPv6 value).</summary>
    internal static UInt128 ResolvedKey(IPAddress address)
    {
        UInt128 key = PrefixTable.ToKey(address, out bool isIPv6);
        return ResolvedKey(key, isIPv6);
    }

    /// <summary>The same key for a destination as <see cref="TryParsePacket"/> reads it, without allocating.</summary>
    internal static UInt128 ResolvedKey(UInt128 destination, bool isIPv6) => isIPv6 ? destination : MappedPrefix | destination;

    private static IPAddress FromResolvedKey(UInt128 key) =>
        (key >> 32) == 0xFFFF ? PrefixTable.ToAddress(key & uint.MaxValue, isIPv6: false) : PrefixTable.ToAddress(key, isIPv6: true);

    private static (PrefixTable V4, PrefixTable V6) BuildTables(List<PolicyRule> rules)
    {
        var v4 = new List<(UInt128, int, PolicyRule)>();
        var v6 = new List<(UInt128, int, PolicyRule)>();
        foreach (PolicyRule rule in rules)
        {
            if (rule.Network is { } network)
            {
                (UInt128 key, bool isIPv6) = PrefixTable.ToKey(network);
                (isIPv6 ? v6 : v4).Add((key, network.PrefixLength, rule));
            }
            else if (rule.IsAnyDestination)
            {
                v4.Add((UInt128.Zero, 0, rule));
                v6.Add((UInt128.Zero, 0, rule));
            }
        }

        return (new PrefixTable(32, v4), new PrefixTable(128, v6));
    }

    private static IPAddress Masked(IPAddress address, int prefixLength)
    {
        UInt128 key = PrefixTable.ToKeyUnmapped(address, out bool isIPv6);
        return PrefixTable.ToAddress(key & PrefixTable.Mask(isIPv6 ? 128 : 32, prefixLength), isIPv6);
    }

    /// <summary>Merges the domain rules of two names that answered the same address, in domain precedence order.</summary>
    private static PolicyRule[] MergeDomainRules(PolicyRule[] a, PolicyRule[] b)
    {
        if (ReferenceEquals(a, b))
        {
            return a;
        }

        var merged = a.Union(b).ToList();
        merged.Sort(CompareDomainSpecificity);
        return [.. merged];
    }

    /// <summary>Exact names before wildcards, longer wildcard suffixes first, then the order of one name.</summary>
    internal static int CompareDomainSpecificity(PolicyRule a, PolicyRule b)
    {
        if (a.IsWildcard != b.IsWildcard)
        {
            return a.IsWildcard ? 1 : -1;
        }

        int labelsA = a.Domain!.Count('.');
        int labelsB = b.Domain!.Count('.');
        if (labelsA != labelsB)
        {
            return labelsA > labelsB ? -1 : 1;
        }

        return PolicyRule.ComparePortSpecificity(a, b);
    }

    private sealed record ResolvedAddress(PolicyRule[] Rules, long ExpiresAt);
}
