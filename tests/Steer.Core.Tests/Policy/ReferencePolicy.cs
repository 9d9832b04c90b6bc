using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Steer.Policy;

namespace Steer.Core.Tests.Policy;

/// <summary>
/// A brute-force matcher written from docs/steering.md alone: every rule is checked and the winner is chosen by the
/// documented order. Slow on purpose: the reference for the fast tables.
/// </summary>
internal sealed class ReferencePolicy
{
    private readonly List<Entry> _rules = [];
    private readonly List<Entry> _always = [];
    private Entry[]? _v4;
    private Entry[]? _v6;

    public ReferencePolicy(PolicyMode mode, IEnumerable<PolicyRule> rules, IEnumerable<IPAddress> gateways, IEnumerable<IPNetwork> connected)
    {
        foreach (PolicyRule rule in rules.Where(r => !r.IsDomainRule))
        {
            _rules.Add(Entry.From(rule));
        }

        // The mode's rules, as the documentation describes them.
        if (mode == PolicyMode.All)
        {
            _rules.Add(new Entry { Kind = PolicyRuleKind.Include, AnyDestination = true }.Split());
        }
        else if (mode == PolicyMode.Web)
        {
            _rules.Add(new Entry { Kind = PolicyRuleKind.Include, AnyDestination = true, Protocol = 6, First = 80, Last = 80 }.Split());
            _rules.Add(new Entry { Kind = PolicyRuleKind.Include, AnyDestination = true, Protocol = 6, First = 443, Last = 443 }.Split());
            _rules.Add(new Entry { Kind = PolicyRuleKind.Include, AnyDestination = true, Protocol = 17, First = 443, Last = 443 }.Split());
        }

        foreach (IPAddress gateway in gateways)
        {
            _always.Add(Entry.ForNetwork(new IPNetwork(gateway, gateway.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)));
        }

        foreach (string reserved in (string[])["127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32", "::1/128", "fe80::/10", "ff00::/8"])
        {
            _always.Add(Entry.ForNetwork(IPNetwork.Parse(reserved)));
        }

        foreach (IPNetwork network in connected)
        {
            _always.Add(Entry.ForNetwork(network));
        }
    }

    /// <summary>The decision and the winner's specificity (prefix length, has ports, port width, kind); null key for built-ins and the default.</summary>
    public (PolicyAction Action, (int, bool, int, PolicyRuleKind)? Key) Decide(IPAddress address, int protocol, int port)
    {
        (UInt128 key, bool v6) = ToKey(address);
        foreach (Entry always in _always)
        {
            if (always.IsIPv6 == v6 && always.Contains(key))
            {
                return (PolicyAction.Direct, null);
            }
        }

        // Every rule of the family, one by one. Fields and two 64-bit halves rather than properties and UInt128:
        // the test assembly is built without optimizations, and this loop runs a billion times in the scale test.
        _v4 ??= [.. _rules.Where(e => e.AnyDestination || !e.IsIPv6)];
        _v6 ??= [.. _rules.Where(e => e.AnyDestination || e.IsIPv6)];
        Entry[] entries = v6 ? _v6 : _v4;
        ulong high = (ulong)(key >> 64), low = (ulong)key;
        Entry? best = null;
        for (int i = 0; i < entries.Length; i++)
        {
            Entry entry = entries[i];
            if ((high & entry.MaskHigh) != entry.NetworkHigh || (low & entry.MaskLow) != entry.NetworkLow)
            {
                continue;
            }

            if (entry.Protocol != 0 && (entry.Protocol != protocol || port < entry.First || port > entry.Last))
            {
                continue;
            }

            if (best is null || Beats(entry, best))
            {
                best = entry;
            }
        }

        return best is null
            ? (PolicyAction.Direct, null)
            : (best.Kind == PolicyRuleKind.Include ? PolicyAction.Tunnel : PolicyAction.Direct,
               (best.Length, best.Protocol != 0, best.Last - best.First, best.Kind));
    }

    public static (int, bool, int, PolicyRuleKind) KeyOf(PolicyRule rule) =>
        (rule.Network?.PrefixLength ?? 0, rule.HasPorts, rule.LastPort - rule.FirstPort, rule.Kind);

    private static bool Beats(Entry a, Entry b)
    {
        if (a.Length != b.Length)
        {
            return a.Length > b.Length;
        }

        if ((a.Protocol != 0) != (b.Protocol != 0))
        {
            return a.Protocol != 0;
        }

        int widthA = a.Last - a.First, widthB = b.Last - b.First;
        if (widthA != widthB)
        {
            return widthA < widthB;
        }

        return a.Kind == PolicyRuleKind.Exclude && b.Kind == PolicyRuleKind.Include;
    }

    public static (UInt128 Key, bool IsIPv6) ToKey(IPAddress address)
    {
        byte[] bytes = address.GetAddressBytes();
        return bytes.Length == 4 ? (BinaryPrimitives.ReadUInt32BigEndian(bytes), false) : (BinaryPrimitives.ReadUInt128BigEndian(bytes), true);
    }

    private sealed class Entry
    {
        public PolicyRuleKind Kind { get; init; }

        public bool AnyDestination { get; init; }

        public int Protocol { get; init; }

        public int First { get; init; }

        public int Last { get; init; } = 65535;

        public UInt128 Network { get; init; }

        public UInt128 Mask { get; init; }

        public int Length { get; init; }

        public bool IsIPv6 { get; init; }

        public ulong NetworkHigh;

        public ulong NetworkLow;

        public ulong MaskHigh;

        public ulong MaskLow;

        public bool Contains(UInt128 key) => (key & Mask) == Network;

        public Entry Split()
        {
            NetworkHigh = (ulong)(Network >> 64);
            NetworkLow = (ulong)Network;
            MaskHigh = (ulong)(Mask >> 64);
            MaskLow = (ulong)Mask;
            return this;
        }

        public static Entry From(PolicyRule rule)
        {
            Entry e = rule.Network is { } network ? ForNetwork(network) : new Entry { AnyDestination = true };
            return new Entry
            {
                Kind = rule.Kind,
                AnyDestination = e.AnyDestination,
                Protocol = rule.Protocol,
                First = rule.FirstPort,
                Last = rule.LastPort,
                Network = e.Network,
                Mask = e.Mask,
                Length = e.Length,
                IsIPv6 = e.IsIPv6,
            }.Split();
        }

        public static Entry ForNetwork(IPNetwork network)
        {
            (UInt128 key, bool v6) = ToKey(network.BaseAddress);
            int bits = v6 ? 128 : 32;
            UInt128 mask = UInt128.Zero;
            for (int i = 0; i < network.PrefixLength; i++)
            {
                mask |= UInt128.One << (bits - 1 - i);
            }

            return new Entry { Network = key & mask, Mask = mask, Length = network.PrefixLength, IsIPv6 = v6 }.Split();
        }
    }
}
