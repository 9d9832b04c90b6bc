namespace Steer.Policy;

/// <summary>
/// Matches host names against the domain rules of a policy: exact names (<c>example.com</c>) and wildcards
/// (<c>*.example.com</c>: subdomains only), case-insensitively, a trailing dot ignored.
/// </summary>
/// <remarks>
/// Two dictionaries keyed by name: exact names, and wildcard suffixes (the part after <c>*.</c>). A lookup probes the
/// exact table once, then the wildcard table once per proper suffix of the name, longest first (<c>a.b.example.com</c>
/// probes <c>b.example.com</c>, <c>example.com</c>, <c>com</c>): O(number of labels) hash probes on spans of the name,
/// whatever the number of rules, with no allocation. Precedence: the exact name, then wildcards from the longest
/// suffix to the shortest; within one name or suffix, rules with ports first, narrower ranges first, exclude before
/// include on a tie.
/// </remarks>
public sealed class DomainMatcher
{
    private readonly Dictionary<string, PolicyRule[]> _exact;
    private readonly Dictionary<string, PolicyRule[]> _wildcard;
    private readonly Dictionary<string, PolicyRule[]>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly Dictionary<string, PolicyRule[]>.AlternateLookup<ReadOnlySpan<char>> _wildcardLookup;

    /// <summary>Creates a matcher from the domain rules among <paramref name="rules"/>; other rules are ignored.</summary>
    /// <param name="rules">Rules of any kind.</param>
    public DomainMatcher(IEnumerable<PolicyRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var exact = new Dictionary<string, List<PolicyRule>>(StringComparer.OrdinalIgnoreCase);
        var wildcard = new Dictionary<string, List<PolicyRule>>(StringComparer.OrdinalIgnoreCase);
        int count = 0;
        foreach (PolicyRule rule in rules)
        {
            if (rule.Domain is not { } domain)
            {
                continue;
            }

            Dictionary<string, List<PolicyRule>> table = rule.IsWildcard ? wildcard : exact;
            if (!table.TryGetValue(domain, out List<PolicyRule>? list))
            {
                table[domain] = list = [];
            }

            list.Add(rule);
            count++;
        }

        Count = count;
        _exact = exact.ToDictionary(p => p.Key, p => Sorted(p.Value), StringComparer.OrdinalIgnoreCase);
        _wildcard = wildcard.ToDictionary(p => p.Key, p => Sorted(p.Value), StringComparer.OrdinalIgnoreCase);
        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardLookup = _wildcard.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The number of domain rules.</summary>
    public int Count { get; }

    /// <summary>
    /// Returns the rules of the most specific pattern that matches <paramref name="name"/> (the exact name, else the
    /// longest wildcard suffix), in precedence order.
    /// </summary>
    /// <param name="name">A host name; case and one trailing dot do not matter.</param>
    /// <param name="rules">The rules of that pattern; empty when nothing matches.</param>
    /// <returns>True when a domain rule matches.</returns>
    public bool TryMatch(ReadOnlySpan<char> name, out IReadOnlyList<PolicyRule> rules)
    {
        Enumerator e = new(this, name);
        if (e.MoveNext())
        {
            rules = e.Current;
            return true;
        }

        rules = [];
        return false;
    }

    /// <summary>
    /// Returns the most specific domain rule that matches the name, protocol and port: the first match in precedence
    /// order, so that a ported rule that does not match the port gives way to the next pattern.
    /// </summary>
    /// <param name="name">A host name.</param>
    /// <param name="protocol">6 (TCP), 17 (UDP), or 0 when unknown.</param>
    /// <param name="port">The destination port, or negative when unknown (only rules without ports match then).</param>
    /// <returns>The deciding rule, or null when no domain rule decides.</returns>
    public PolicyRule? Decide(ReadOnlySpan<char> name, int protocol, int port)
    {
        Enumerator e = new(this, name);
        while (e.MoveNext())
        {
            foreach (PolicyRule rule in e.Current)
            {
                if (rule.MatchesPort(protocol, port))
                {
                    return rule;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Decides where a name is resolved: through the tunnel when the first rule in precedence order that is an
    /// include or an exclude without ports is an include (some traffic to the name may be steered), direct when it is
    /// an exclude without ports; no decision (false) when only ported excludes or nothing match.
    /// </summary>
    /// <param name="name">A host name.</param>
    /// <param name="rule">The deciding rule.</param>
    /// <returns>True when a domain rule decides.</returns>
    public bool TryDecideResolution(ReadOnlySpan<char> name, out PolicyRule rule)
    {
        Enumerator e = new(this, name);
        while (e.MoveNext())
        {
            foreach (PolicyRule candidate in e.Current)
            {
                if (candidate.Kind == PolicyRuleKind.Include || !candidate.HasPorts)
                {
                    rule = candidate;
                    return true;
                }
            }
        }

        rule = null!;
        return false;
    }

    /// <summary>All rules that match the name, across patterns, in precedence order.</summary>
    internal PolicyRule[] GetAllMatchingRules(ReadOnlySpan<char> name)
    {
        List<PolicyRule>? all = null;
        Enumerator e = new(this, name);
        while (e.MoveNext())
        {
            (all ??= []).AddRange(e.Current);
        }

        return all is null ? [] : [.. all];
    }

    private static PolicyRule[] Sorted(List<PolicyRule> rules)
    {
        var indexed = rules.Select((rule, index) => (rule, index)).ToArray();
        Array.Sort(indexed, (a, b) =>
        {
            int c = PolicyRule.ComparePortSpecificity(a.rule, b.rule);
            return c != 0 ? c : a.index.CompareTo(b.index);
        });
        return [.. indexed.Select(p => p.rule)];
    }

    /// <summary>Walks the matching patterns of a name from the most specific to the least.</summary>
    private ref struct Enumerator
    {
        private readonly DomainMatcher _matcher;
        private readonly ReadOnlySpan<char> _name;
        private int _position; // -2: exact not tried yet; otherwise the index of the dot before the next suffix

        public Enumerator(DomainMatcher matcher, ReadOnlySpan<char> name)
        {
            _matcher = matcher;
            _name = name.EndsWith('.') ? name[..^1] : name;
            _position = -2;
            Current = [];
        }

        public PolicyRule[] Current { get; private set; }

        public bool MoveNext()
        {
            if (_name.IsEmpty)
            {
                return false;
            }

            if (_position == -2)
            {
                _position = -1;
                if (_matcher._exact.Count > 0 && _matcher._exactLookup.TryGetValue(_name, out PolicyRule[]? exact))
                {
                    Current = exact;
                    return true;
                }
            }

            if (_matcher._wildcard.Count == 0)
            {
                return false;
            }

            while (true)
            {
                int next = _name[(_position + 1)..].IndexOf('.');
                if (next < 0)
                {
                    return false;
                }

                _position += next + 1;
                ReadOnlySpan<char> suffix = _name[(_position + 1)..];
                if (!suffix.IsEmpty && _matcher._wildcardLookup.TryGetValue(suffix, out PolicyRule[]? rules))
                {
                    Current = rules;
                    return true;
                }
            }
        }
    }
}
