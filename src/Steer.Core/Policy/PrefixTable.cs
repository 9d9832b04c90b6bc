using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Net;

namespace Steer.Policy;

/// <summary>
/// Longest-prefix match over the rules of one address family, by binary search on prefix lengths (Waldvogel,
/// Varghese, Turner and Plattner, "Scalable high speed IP routing lookups", SIGCOMM 1997): one hash table per prefix
/// length present, holding the real prefixes plus markers that steer the search towards longer lengths, each entry
/// knowing its best matching real prefix. A lookup costs at most ⌈log2(k + 1)⌉ hash probes for k distinct prefix
/// lengths (k ≤ 33 for IPv4, ≤ 129 for IPv6: at most 6 and 8 probes), whatever the number of rules, then a walk up the
/// chain of enclosing prefixes only when the most specific prefix has no rule for the packet's protocol and port.
/// Nothing is allocated. Memory: O(n log k) entries for n prefixes.
/// </summary>
/// <remarks>
/// Addresses are unsigned integers in network order (first byte highest): IPv4 in the low 32 bits of a
/// <see cref="UInt128"/>. Each prefix holds its rules sorted by <see cref="PolicyRule.ComparePortSpecificity"/>, so the
/// first rule whose protocol and port match is the decision at that prefix.
/// </remarks>
internal sealed class PrefixTable
{
    private readonly int[] _lengths;   // ascending
    private readonly UInt128[] _masks;
    private readonly FrozenDictionary<UInt128, Node>[] _tables;
    private readonly List<(UInt128 Key, int Length, PolicyRule[] Rules)> _entries = [];

    public PrefixTable(int addressBits, IEnumerable<(UInt128 Key, int Length, PolicyRule Rule)> entries)
    {
        AddressBits = addressBits;
        var byLength = new SortedDictionary<int, Dictionary<UInt128, List<PolicyRule>>>();
        foreach ((UInt128 key, int length, PolicyRule rule) in entries)
        {
            if (!byLength.TryGetValue(length, out Dictionary<UInt128, List<PolicyRule>>? table))
            {
                byLength[length] = table = [];
            }

            UInt128 masked = key & Mask(addressBits, length);
            if (!table.TryGetValue(masked, out List<PolicyRule>? bucket))
            {
                table[masked] = bucket = [];
            }

            bucket.Add(rule);
        }

        _lengths = [.. byLength.Keys];
        _masks = [.. _lengths.Select(l => Mask(addressBits, l))];
        int count = _lengths.Length;

        // The real prefixes, and for each its parent: the longest shorter real prefix that contains it.
        var real = new Dictionary<UInt128, Node>[count];
        for (int i = 0; i < count; i++)
        {
            real[i] = [];
            foreach ((UInt128 key, List<PolicyRule> rules) in byLength[_lengths[i]])
            {
                var node = new Node { Rules = Sorted(rules) };
                node.Best = node;
                real[i][key] = node;
                _entries.Add((key, _lengths[i], node.Rules));
            }
        }

        for (int i = 0; i < count; i++)
        {
            foreach ((UInt128 key, Node node) in real[i])
            {
                node.Parent = FindReal(real, key, i - 1);
            }
        }

        // Markers: on the way to each real prefix, every length where the search must turn towards longer lengths
        // gets an entry for the prefix cut to that length, knowing the best real prefix at or above it.
        var all = new Dictionary<UInt128, Node>[count];
        for (int i = 0; i < count; i++)
        {
            all[i] = new Dictionary<UInt128, Node>(real[i]);
        }

        for (int j = 0; j < count; j++)
        {
            foreach (UInt128 key in real[j].Keys)
            {
                int lo = 0, hi = count - 1;
                while (lo <= hi)
                {
                    int mid = (lo + hi) >>> 1;
                    if (mid == j)
                    {
                        break;
                    }

                    if (mid > j)
                    {
                        hi = mid - 1;
                        continue;
                    }

                    UInt128 marker = key & _masks[mid];
                    if (!all[mid].ContainsKey(marker))
                    {
                        all[mid][marker] = new Node { Best = FindReal(real, marker, mid) };
                    }

                    lo = mid + 1;
                }
            }
        }

        _tables = [.. all.Select(t => t.ToFrozenDictionary())];
    }

    /// <summary>32 or 128.</summary>
    public int AddressBits { get; }

    /// <summary>Every real prefix: the network as integer and length, and its rules in precedence order.</summary>
    public IEnumerable<(UInt128 Key, int Length, PolicyRule[] Rules)> Entries => _entries;

    /// <summary>Returns the most specific rule matching the address, protocol and port (port negative when unknown), or null.</summary>
    public PolicyRule? Lookup(UInt128 address, int protocol, int port)
    {
        FrozenDictionary<UInt128, Node>[] tables = _tables;
        UInt128[] masks = _masks;
        Node? best = null;
        int lo = 0, hi = tables.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (tables[mid].TryGetValue(address & masks[mid], out Node? node))
            {
                best = node.Best ?? best;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        for (Node? node = best; node is not null; node = node.Parent)
        {
            foreach (PolicyRule rule in node.Rules!)
            {
                if (rule.MatchesPort(protocol, port))
                {
                    return rule;
                }
            }
        }

        return null;
    }

    /// <summary>The longest real prefix containing <paramref name="key"/> among the lengths up to index <paramref name="index"/>.</summary>
    private Node? FindReal(Dictionary<UInt128, Node>[] real, UInt128 key, int index)
    {
        for (int i = index; i >= 0; i--)
        {
            if (real[i].TryGetValue(key & _masks[i], out Node? node))
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>The mask of a prefix length in a space of <paramref name="addressBits"/> bits.</summary>
    public static UInt128 Mask(int addressBits, int length) =>
        length == 0 ? UInt128.Zero : (UInt128.MaxValue << (addressBits - length)) & (addressBits == 128 ? UInt128.MaxValue : uint.MaxValue);

    /// <summary>Converts an address to its integer form; IPv4-mapped IPv6 addresses count as IPv4.</summary>
    public static UInt128 ToKey(IPAddress address, out bool isIPv6) =>
        ToKeyUnmapped(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, out isIPv6);

    /// <summary>Converts an address to its integer form, IPv4-mapped IPv6 staying IPv6.</summary>
    public static UInt128 ToKeyUnmapped(IPAddress address, out bool isIPv6)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        isIPv6 = written == 16;
        return isIPv6 ? BinaryPrimitives.ReadUInt128BigEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    /// <summary>Converts an integer back to an address of the family.</summary>
    public static IPAddress ToAddress(UInt128 key, bool isIPv6)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (isIPv6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
            return new IPAddress(bytes);
        }

        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)key);
        return new IPAddress(bytes[..4]);
    }

    /// <summary>The integer form and family of a network.</summary>
    public static (UInt128 Key, bool IsIPv6) ToKey(IPNetwork network)
    {
        UInt128 key = ToKeyUnmapped(network.BaseAddress, out bool isIPv6);
        return (key, isIPv6);
    }

    private static PolicyRule[] Sorted(List<PolicyRule> rules)
    {
        PolicyRule[] array = [.. rules];
        // A stable sort: equal rules keep the order in which they were given.
        var indexed = array.Select((rule, index) => (rule, index)).ToArray();
        Array.Sort(indexed, (a, b) =>
        {
            int c = PolicyRule.ComparePortSpecificity(a.rule, b.rule);
            return c != 0 ? c : a.index.CompareTo(b.index);
        });
        return [.. indexed.Select(p => p.rule)];
    }

    /// <summary>A real prefix (with rules) or a marker (without), and the best real prefix at or above it.</summary>
    private sealed class Node
    {
        public PolicyRule[]? Rules { get; init; }

        public Node? Best { get; set; }

        public Node? Parent { get; set; }
    }
}
