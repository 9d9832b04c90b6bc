using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Steer.Configuration;

namespace Steer.Policy;

/// <summary>
/// One include or exclude rule: a destination (a CIDR, an exact domain, a wildcard domain, or any destination) with an
/// optional protocol and port range.
/// </summary>
/// <remarks>
/// The text form (see <see cref="TryParse"/> and <c>docs/steering.md</c>):
/// <list type="bullet">
/// <item><c>10.0.0.0/8</c>, <c>2001:db8::/32</c>, <c>192.0.2.7</c> (a host, /32 or /128);</item>
/// <item><c>example.com</c> (exactly that name), <c>*.example.com</c> (its subdomains only, not example.com itself);</item>
/// <item><c>tcp/8443</c>, <c>udp/53</c>, <c>tcp/8000-8100</c> (any destination on those ports);</item>
/// <item>a destination and ports joined by a colon: <c>10.0.0.0/8:tcp/22</c>, <c>2001:db8::/32:udp/53</c>,
/// <c>*.example.com:tcp/443</c>.</item>
/// </list>
/// Domains compare case-insensitively and a trailing dot is ignored.
/// </remarks>
public sealed class PolicyRule
{
    /// <summary>The protocol number of TCP (6).</summary>
    public const int Tcp = 6;

    /// <summary>The protocol number of UDP (17).</summary>
    public const int Udp = 17;

    /// <summary>What the accepted text looks like, for error messages.</summary>
    public const string SyntaxDescription =
        "must be a CIDR (10.0.0.0/8, 2001:db8::/32), an IP address, a domain (example.com, *.example.com), "
        + "a protocol and port (tcp/8443, udp/53, tcp/8000-8100), or a CIDR, address or domain with a protocol and port (10.0.0.0/8:tcp/22)";

    private PolicyRule(PolicyRuleKind kind, PolicyRuleOrigin origin, IPNetwork? network, string? domain, bool isWildcard,
        int protocol, int firstPort, int lastPort, string text)
    {
        Kind = kind;
        Origin = origin;
        Network = network;
        Domain = domain;
        IsWildcard = isWildcard;
        Protocol = protocol;
        FirstPort = firstPort;
        LastPort = lastPort;
        Text = text;
    }

    /// <summary>Whether the rule steers into the tunnel or keeps traffic out.</summary>
    public PolicyRuleKind Kind { get; }

    /// <summary>Where the rule came from.</summary>
    public PolicyRuleOrigin Origin { get; }

    /// <summary>What the rule decides: <see cref="PolicyAction.Tunnel"/> for includes, <see cref="PolicyAction.Direct"/> for excludes.</summary>
    public PolicyAction Action => Kind == PolicyRuleKind.Include ? PolicyAction.Tunnel : PolicyAction.Direct;

    /// <summary>The destination network, or null for a domain rule or a rule for any destination.</summary>
    public IPNetwork? Network { get; }

    /// <summary>
    /// The domain, lowercase and without a trailing dot; for a wildcard rule the part after <c>*.</c>. Null when the
    /// rule is not a domain rule.
    /// </summary>
    public string? Domain { get; }

    /// <summary>True for <c>*.example.com</c>: subdomains of <see cref="Domain"/> match, the domain itself does not.</summary>
    public bool IsWildcard { get; }

    /// <summary>True when the rule names a destination by domain.</summary>
    public bool IsDomainRule => Domain is not null;

    /// <summary>True when the rule matches every destination (a port rule such as <c>tcp/8443</c>, or a mode/default rule).</summary>
    public bool IsAnyDestination => Network is null && Domain is null;

    /// <summary>The protocol number the rule is limited to (<see cref="Tcp"/> or <see cref="Udp"/>), or 0 for any protocol.</summary>
    public int Protocol { get; }

    /// <summary>True when the rule is limited to a protocol and port range.</summary>
    public bool HasPorts => Protocol != 0;

    /// <summary>The first port of the range; 0 when <see cref="HasPorts"/> is false.</summary>
    public int FirstPort { get; }

    /// <summary>The last port of the range (inclusive); 65535 when <see cref="HasPorts"/> is false.</summary>
    public int LastPort { get; }

    /// <summary>The rule in its canonical text form, for example <c>10.0.0.0/8:tcp/22</c> or <c>gateway 203.0.113.10</c>.</summary>
    public string Text { get; }

    /// <summary>The prefix length of <see cref="Network"/>; 0 when the rule is not a network rule.</summary>
    internal int PrefixLength => Network?.PrefixLength ?? 0;

    /// <summary>Parses a rule; see the remarks of <see cref="PolicyRule"/> for the syntax.</summary>
    /// <param name="text">The rule text.</param>
    /// <param name="kind">Include or exclude.</param>
    /// <returns>The rule, with <see cref="PolicyRuleOrigin.Configuration"/>.</returns>
    /// <exception cref="FormatException">The text is not a rule; the message says why.</exception>
    public static PolicyRule Parse(string text, PolicyRuleKind kind) =>
        TryParse(text, kind, out PolicyRule? rule, out string problem) ? rule : throw new FormatException(problem);

    /// <summary>Parses a rule without throwing; see the remarks of <see cref="PolicyRule"/> for the syntax.</summary>
    /// <param name="text">The rule text; may be null.</param>
    /// <param name="kind">Include or exclude.</param>
    /// <param name="rule">The rule, when the text is valid.</param>
    /// <param name="problem">Why the text is not a rule and what is expected; empty on success.</param>
    /// <returns>True when the text is a valid rule.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, PolicyRuleKind kind, [NotNullWhen(true)] out PolicyRule? rule, out string problem)
    {
        rule = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = $"an empty rule is not a rule: it {SyntaxDescription}";
            return false;
        }

        string trimmed = text.Trim();
        string destination = trimmed;
        string? ports = null;
        if (IsPortSpec(trimmed))
        {
            destination = string.Empty;
            ports = trimmed;
        }
        else
        {
            int colon = trimmed.LastIndexOf(':');
            if (colon >= 0 && IsPortSpec(trimmed.AsSpan(colon + 1)))
            {
                destination = trimmed[..colon];
                ports = trimmed[(colon + 1)..];
                if (destination.Length == 0)
                {
                    problem = $"'{text}' has ports but an empty destination: write '{ports}' for any destination";
                    return false;
                }
            }
        }

        int protocol = 0, first = 0, last = 65535;
        if (ports is not null && !TryParsePorts(ports, out protocol, out first, out last, out problem))
        {
            problem = $"'{text}': {problem}";
            return false;
        }

        IPNetwork? network = null;
        string? domain = null;
        bool wildcard = false;
        if (destination.Length > 0)
        {
            if (destination.Contains('/', StringComparison.Ordinal))
            {
                if (!TenantConfigurationParser.TryParseCidr(destination, out IPNetwork parsed, out problem))
                {
                    return false;
                }

                network = parsed;
            }
            else if (TenantConfigurationParser.TryParseIPAddress(destination, out IPAddress address))
            {
                network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            }
            else if (!TryNormalizeDomainPattern(destination, out domain, out wildcard, out problem))
            {
                problem = $"'{text}' is not a rule: {problem}; a rule {SyntaxDescription}";
                return false;
            }
        }

        rule = new PolicyRule(kind, PolicyRuleOrigin.Configuration, network, domain, wildcard, protocol, first, last,
            FormatText(network, domain, wildcard, protocol, first, last));
        problem = string.Empty;
        return true;
    }

    /// <summary>Creates a rule for a network, as configuration CIDR lists and run-time facts need.</summary>
    /// <param name="network">The destination network.</param>
    /// <param name="kind">Include or exclude.</param>
    /// <param name="origin">Where the rule comes from.</param>
    /// <returns>The rule.</returns>
    public static PolicyRule ForNetwork(IPNetwork network, PolicyRuleKind kind, PolicyRuleOrigin origin = PolicyRuleOrigin.Configuration)
    {
        string text = origin switch
        {
            PolicyRuleOrigin.Gateway => $"gateway {network.BaseAddress}",
            PolicyRuleOrigin.ConnectedNetwork => $"connected network {network}",
            PolicyRuleOrigin.Reserved => $"reserved {network}",
            _ => network.ToString(),
        };
        return new PolicyRule(kind, origin, network, null, false, 0, 0, 65535, text);
    }

    /// <summary>Creates a rule for any destination, optionally limited to a protocol and port range.</summary>
    internal static PolicyRule ForAnyDestination(PolicyRuleKind kind, PolicyRuleOrigin origin, int protocol, int firstPort, int lastPort, string text) =>
        new(kind, origin, null, null, false, protocol, protocol == 0 ? 0 : firstPort, protocol == 0 ? 65535 : lastPort, text);

    /// <summary>Returns "include 10.0.0.0/8" or "exclude *.example.com".</summary>
    /// <returns>The kind and the text of the rule.</returns>
    public override string ToString() => $"{(Kind == PolicyRuleKind.Include ? "include" : "exclude")} {Text}";

    /// <summary>Returns whether the rule's protocol and ports match; <paramref name="port"/> is negative when unknown.</summary>
    internal bool MatchesPort(int protocol, int port) =>
        Protocol == 0 || (Protocol == protocol && (uint)(port - FirstPort) <= (uint)(LastPort - FirstPort));

    /// <summary>
    /// Orders rules that match the same destination at the same specificity: a rule with ports before one without,
    /// a narrower port range before a wider one, and on a tie exclude before include. Negative when <paramref name="a"/> wins.
    /// </summary>
    internal static int ComparePortSpecificity(PolicyRule a, PolicyRule b)
    {
        if (a.HasPorts != b.HasPorts)
        {
            return a.HasPorts ? -1 : 1;
        }

        int widthA = a.LastPort - a.FirstPort;
        int widthB = b.LastPort - b.FirstPort;
        if (widthA != widthB)
        {
            return widthA < widthB ? -1 : 1;
        }

        if (a.Kind != b.Kind)
        {
            return a.Kind == PolicyRuleKind.Exclude ? -1 : 1;
        }

        return 0;
    }

    /// <summary>
    /// Normalizes a domain name for matching: lowercase, one trailing dot removed. Returns false for names that
    /// cannot be DNS names (empty labels, labels over 63 characters, names over 253 characters, other characters
    /// than letters, digits, '-' and '_').
    /// </summary>
    internal static bool TryNormalizeDomain(ReadOnlySpan<char> name, out string normalized)
    {
        normalized = string.Empty;
        if (name.EndsWith('.'))
        {
            name = name[..^1];
        }

        if (name.IsEmpty || name.Length > 253)
        {
            return false;
        }

        int labelLength = 0;
        foreach (char c in name)
        {
            if (c == '.')
            {
                if (labelLength == 0)
                {
                    return false;
                }

                labelLength = 0;
                continue;
            }

            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_') || ++labelLength > 63)
            {
                return false;
            }
        }

        if (labelLength == 0)
        {
            return false;
        }

        normalized = name.ToString().ToLowerInvariant();
        return true;
    }

    private static bool TryNormalizeDomainPattern(string text, out string? domain, out bool wildcard, out string problem)
    {
        domain = null;
        wildcard = text.StartsWith("*.", StringComparison.Ordinal);
        ReadOnlySpan<char> name = wildcard ? text.AsSpan(2) : text;
        if (name.Contains('*'))
        {
            problem = $"'{text}' has a '*' that is not a leading '*.': a wildcard is written *.example.com";
            return false;
        }

        if (!TryNormalizeDomain(name, out string normalized))
        {
            problem = $"'{text}' is not a domain name (labels of letters, digits, '-' and '_', 1 to 63 characters each, 253 in all)";
            return false;
        }

        bool looksNumeric = true;
        foreach (char c in normalized)
        {
            looksNumeric &= char.IsAsciiDigit(c) || c == '.';
        }

        if (looksNumeric || normalized.Contains(':', StringComparison.Ordinal))
        {
            problem = $"'{text}' is neither a valid IP address nor a domain name";
            return false;
        }

        domain = normalized;
        problem = string.Empty;
        return true;
    }

    private static bool IsPortSpec(ReadOnlySpan<char> text) =>
        text.StartsWith("tcp/", StringComparison.OrdinalIgnoreCase) || text.StartsWith("udp/", StringComparison.OrdinalIgnoreCase);

    private static bool TryParsePorts(string text, out int protocol, out int first, out int last, out string problem)
    {
        protocol = text.StartsWith("tcp/", StringComparison.OrdinalIgnoreCase) ? Tcp : Udp;
        first = last = 0;
        ReadOnlySpan<char> range = text.AsSpan(4);
        int dash = range.IndexOf('-');
        ReadOnlySpan<char> firstText = dash < 0 ? range : range[..dash];
        ReadOnlySpan<char> lastText = dash < 0 ? range : range[(dash + 1)..];
        if (!TryParsePort(firstText, out first) || !TryParsePort(lastText, out last))
        {
            problem = $"'{text}' is not a protocol and port: ports are 1 to 65535, as in tcp/8443 or udp/8000-8100";
            return false;
        }

        if (last < first)
        {
            problem = $"'{text}' is an empty port range: write the lower port first, as in tcp/{last}-{first}";
            return false;
        }

        problem = string.Empty;
        return true;
    }

    private static bool TryParsePort(ReadOnlySpan<char> text, out int port)
    {
        port = 0;
        if (text.Length is 0 or > 5)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        port = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return port is >= 1 and <= 65535;
    }

    private static string FormatText(IPNetwork? network, string? domain, bool wildcard, int protocol, int first, int last)
    {
        string destination = network?.ToString() ?? (domain is null ? string.Empty : wildcard ? "*." + domain : domain);
        if (protocol == 0)
        {
            return destination;
        }

        string ports = (protocol == Tcp ? "tcp/" : "udp/") + (first == last
            ? first.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{first}-{last}"));
        return destination.Length == 0 ? ports : destination + ":" + ports;
    }
}
