using System.Net;

namespace Steer.Policy;

/// <summary>
/// The routes a policy needs: the minimal lists of IPv4 and IPv6 prefixes whose traffic goes into the TUN, with
/// excluded networks carved out of included ones by splitting.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Prefixes"/> holds for all traffic that no ported rule singles out (any protocol, any port).
/// <see cref="PortClasses"/> lists the protocol and port ranges whose prefixes differ (web mode's tcp/80, a
/// <c>10.0.0.0/8:tcp/22</c> rule, …); a router steers those with rules that select on <c>ipproto</c> and <c>dport</c>
/// ahead of the general one. A port class holds the complete list for its ports, not a difference.
/// </para>
/// <para>
/// Computed with a binary trie of the policy's prefixes, one pass per class: O(C · n · W) for n rules, C port classes
/// (at most two per distinct port range boundary) and W address bits. The lists are minimal: sibling prefixes with the
/// same decision are merged, and no prefix is listed that a larger one already covers.
/// </para>
/// Addresses learned from DNS answers are not part of a route set: they come and go as host routes.
/// </remarks>
public sealed class RouteSet
{
    private const sbyte None = -1;
    private const sbyte DirectValue = 0;
    private const sbyte TunnelValue = 1;
    private const sbyte Mixed = 2;

    private RouteSet(IReadOnlyList<IPNetwork> prefixes, IReadOnlyList<PortRouteSet> portClasses, IReadOnlyList<IPNetwork> alwaysDirect)
    {
        Prefixes = prefixes;
        PortClasses = portClasses;
        AlwaysDirect = alwaysDirect;
    }

    /// <summary>The prefixes (IPv4 first, then IPv6, each sorted) to route into the TUN for traffic of no port class.</summary>
    public IReadOnlyList<IPNetwork> Prefixes { get; }

    /// <summary>The protocol and port ranges whose prefixes differ from <see cref="Prefixes"/>, in protocol and port order.</summary>
    public IReadOnlyList<PortRouteSet> PortClasses { get; }

    /// <summary>
    /// The policy's always-direct networks (gateways, connected and reserved networks). Carved out of the lists unless
    /// <see cref="Compute"/> was told not to, in which case a router must keep them out of the TUN itself (on Linux,
    /// <c>throw</c> routes in the steering table).
    /// </summary>
    public IReadOnlyList<IPNetwork> AlwaysDirect { get; }

    /// <summary>Computes the route set of a policy.</summary>
    /// <param name="policy">The compiled policy.</param>
    /// <param name="carveOutAlwaysDirect">
    /// True to split the always-direct networks out of the lists (portable, more prefixes: ::1/128 alone costs 128);
    /// false to leave them to the router.
    /// </param>
    /// <returns>The route set.</returns>
    public static RouteSet Compute(SteeringPolicy policy, bool carveOutAlwaysDirect = true)
    {
        ArgumentNullException.ThrowIfNull(policy);
        IReadOnlyList<IPNetwork> general = ComputePrefixes(policy, 0, -1, carveOutAlwaysDirect);

        var classes = new List<PortRouteSet>();
        foreach (int protocol in (int[])[PolicyRule.Tcp, PolicyRule.Udp])
        {
            var boundaries = new SortedSet<int> { 0, 65536 };
            foreach (PolicyRule rule in policy.Rules)
            {
                if (rule.Protocol == protocol && (rule.Network is not null || rule.IsAnyDestination))
                {
                    boundaries.Add(rule.FirstPort);
                    boundaries.Add(rule.LastPort + 1);
                }
            }

            int[] edges = [.. boundaries];
            PortRouteSet? pending = null;
            for (int i = 0; i + 1 < edges.Length; i++)
            {
                int first = edges[i], last = edges[i + 1] - 1;
                IReadOnlyList<IPNetwork> prefixes = edges.Length == 2 ? general : ComputePrefixes(policy, protocol, first, carveOutAlwaysDirect);
                if (pending is not null && pending.Prefixes.SequenceEqual(prefixes))
                {
                    pending = new PortRouteSet(protocol, pending.FirstPort, last, pending.Prefixes);
                    continue;
                }

                if (pending is not null && !pending.Prefixes.SequenceEqual(general))
                {
                    classes.Add(pending);
                }

                pending = new PortRouteSet(protocol, first, last, prefixes);
            }

            if (pending is not null && !pending.Prefixes.SequenceEqual(general))
            {
                classes.Add(pending);
            }
        }

        IReadOnlyList<IPNetwork> alwaysDirect = [.. policy.AlwaysDirectRules.Select(r => r.Network!.Value)];
        return new RouteSet(general, classes.AsReadOnly(), alwaysDirect);
    }

    /// <summary>The minimal prefix list for one protocol and port (port negative: traffic without a port rule).</summary>
    internal static IReadOnlyList<IPNetwork> ComputePrefixes(SteeringPolicy policy, int protocol, int port, bool carveOutAlwaysDirect)
    {
        var result = new List<IPNetwork>();
        foreach (bool isIPv6 in (bool[])[false, true])
        {
            var trie = new Trie(isIPv6 ? 128 : 32);
            foreach ((UInt128 key, int length, PolicyRule[] rules) in policy.GetRuleTable(isIPv6).Entries)
            {
                foreach (PolicyRule rule in rules)
                {
                    if (rule.MatchesPort(protocol, port))
                    {
                        trie.Set(key, length, rule.Action == PolicyAction.Tunnel ? TunnelValue : DirectValue, forced: false);
                        break;
                    }
                }
            }

            if (carveOutAlwaysDirect)
            {
                foreach ((UInt128 key, int length, _) in policy.GetAlwaysDirectTable(isIPv6).Entries)
                {
                    trie.Set(key, length, DirectValue, forced: true);
                }
            }

            var found = new List<(UInt128 Key, int Length)>();
            sbyte root = policy.DefaultRule.Action == PolicyAction.Tunnel ? TunnelValue : DirectValue;
            if (trie.Visit(0, 0, UInt128.Zero, root, found) == TunnelValue)
            {
                found.Add((UInt128.Zero, 0));
            }

            found.Sort((a, b) => a.Key.CompareTo(b.Key));
            result.AddRange(found.Select(p => new IPNetwork(PrefixTable.ToAddress(p.Key, isIPv6), p.Length)));
        }

        return result.AsReadOnly();
    }

    /// <summary>A binary trie in arrays: node 0 is the root (/0); each node may carry a decision.</summary>
    private sealed class Trie(int bits)
    {
        private readonly List<int> _zero = [-1];
        private readonly List<int> _one = [-1];
        private readonly List<sbyte> _value = [None];
        private readonly List<bool> _forced = [false];

        public void Set(UInt128 key, int length, sbyte value, bool forced)
        {
            int node = 0;
            for (int depth = 0; depth < length; depth++)
            {
                bool one = ((key >> (bits - 1 - depth)) & UInt128.One) != UInt128.Zero;
                List<int> children = one ? _one : _zero;
                int child = children[node];
                if (child < 0)
                {
                    child = _value.Count;
                    _zero.Add(-1);
                    _one.Add(-1);
                    _value.Add(None);
                    _forced.Add(false);
                    children[node] = child;
                }

                node = child;
            }

            if (forced)
            {
                _forced[node] = true;
            }
            else if (_value[node] == None)
            {
                _value[node] = value; // A bucket gives one value per prefix; the first is the decision.
            }
        }

        /// <summary>
        /// Returns the subtree's decision (direct, tunnel or mixed) and, for a mixed subtree, adds its maximal tunnel
        /// prefixes to <paramref name="found"/>.
        /// </summary>
        public sbyte Visit(int node, int depth, UInt128 key, sbyte inherited, List<(UInt128 Key, int Length)> found)
        {
            if (_forced[node])
            {
                return DirectValue;
            }

            sbyte effective = _value[node] == None ? inherited : _value[node];
            int zero = _zero[node], one = _one[node];
            if (zero < 0 && one < 0)
            {
                return effective;
            }

            UInt128 oneKey = key | (UInt128.One << (bits - 1 - depth));
            sbyte left = zero < 0 ? effective : Visit(zero, depth + 1, key, effective, found);
            sbyte right = one < 0 ? effective : Visit(one, depth + 1, oneKey, effective, found);
            if (left == right && left != Mixed)
            {
                return left;
            }

            if (left == TunnelValue)
            {
                found.Add((key, depth + 1));
            }

            if (right == TunnelValue)
            {
                found.Add((oneKey, depth + 1));
            }

            return Mixed;
        }
    }
}
