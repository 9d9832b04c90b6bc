using System.Net;
using System.Net.Sockets;

namespace Steer.Tun.Dns;

/// <summary>What <see cref="IDnsConfigurator.Apply"/> points the system resolver at.</summary>
public sealed class DnsConfiguration
{
    /// <summary>The longest domain name, in characters, without the trailing dot.</summary>
    public const int MaxDomainLength = 253;

    /// <summary>The standard DNS port.</summary>
    public const int DefaultPort = 53;

    /// <summary>DNS servers, IPv4 or IPv6, in order of preference. At least one is required.</summary>
    /// <remarks>
    /// Which address works depends on the backend (<see cref="IDnsConfigurator.Backend"/>). Through
    /// <see cref="DnsBackend.ResolvConf"/>, macOS and Windows any local or remote address does, such as a stub resolver
    /// on a loopback address (Steer's 127.53.0.1). Through <see cref="DnsBackend.SystemdResolved"/> the servers belong
    /// to the tunnel interface (<see cref="InterfaceIndex"/>), and systemd-resolved sends their queries out of that
    /// interface (IP_UNICAST_IF, and SO_BINDTOIFINDEX while connecting): an address the kernel delivers locally only
    /// when it is assigned to that interface itself. A stub resolver must therefore listen on the tunnel interface's
    /// own address (its inner IPv4 address), not on a loopback address: a query to 127.53.0.1 would be routed out of
    /// the TUN and never reach the stub. That configurator rejects loopback servers. Verified on Linux 6.18 in a
    /// network namespace, UDP and TCP (test <c>ResolvedLinkRoutingElevatedTests</c>).
    /// </remarks>
    public IReadOnlyList<IPAddress> Servers { get; set; } = [];

    /// <summary>The UDP and TCP port of every server in <see cref="Servers"/>. Defaults to <see cref="DefaultPort"/> (53).</summary>
    /// <remarks>
    /// Only systemd-resolved (<c>SetLinkDNSEx</c>, systemd 246 or later) and macOS (<c>port</c> in the resolver file)
    /// can send queries to another port; the resolv.conf and Windows configurators throw
    /// <see cref="NotSupportedException"/> for any port but 53.
    /// </remarks>
    public int Port { get; set; } = DefaultPort;

    /// <summary>
    /// Domains whose names (and subdomains) go to <see cref="Servers"/>; empty means every name.
    /// </summary>
    /// <remarks>Defaults to empty. Names are compared case-insensitively; a trailing dot is ignored.</remarks>
    public IReadOnlyList<string> MatchDomains { get; set; } = [];

    /// <summary>Domains appended to single-label names (the search list). Defaults to empty.</summary>
    public IReadOnlyList<string> SearchDomains { get; set; } = [];

    /// <summary>
    /// Index of the tunnel interface; required on Windows and with systemd-resolved, where DNS servers are set per interface.
    /// </summary>
    /// <remarks>Defaults to 0 (none).</remarks>
    public int InterfaceIndex { get; set; }

    /// <summary>Name of the tunnel interface, used in messages and generated files. Defaults to null.</summary>
    public string? InterfaceName { get; set; }

    /// <summary>Checks the configuration; the exception names the offending member.</summary>
    /// <param name="argumentName">The caller's parameter name, used as the prefix of the member's name.</param>
    /// <exception cref="ArgumentException">A member is missing or invalid.</exception>
    internal void Validate(string argumentName)
    {
        if (Servers is null || Servers.Count == 0)
        {
            throw new ArgumentException("DnsConfiguration.Servers must name at least one DNS server.", argumentName + "." + nameof(Servers));
        }

        foreach (IPAddress? server in Servers)
        {
            if (server is null || server.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            {
                throw new ArgumentException($"DnsConfiguration.Servers contains '{server}', which is not an IPv4 or IPv6 address.", argumentName + "." + nameof(Servers));
            }
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentException($"DnsConfiguration.Port {Port} is not a port (1–65535).", argumentName + "." + nameof(Port));
        }

        ValidateDomains(MatchDomains, argumentName + "." + nameof(MatchDomains));
        ValidateDomains(SearchDomains, argumentName + "." + nameof(SearchDomains));
        if (InterfaceIndex < 0)
        {
            throw new ArgumentException($"DnsConfiguration.InterfaceIndex {InterfaceIndex} is negative.", argumentName + "." + nameof(InterfaceIndex));
        }
    }

    /// <summary>
    /// Lower-cases a domain and strips one trailing dot. Valid names have labels of 1–63 letters, digits, '-' or '_'
    /// (no leading or trailing '-') and are at most 253 characters, so that a name is always a safe file name.
    /// </summary>
    /// <returns>The normalized name, or null when <paramref name="domain"/> is not a valid domain name.</returns>
    internal static string? Normalize(string? domain)
    {
        if (string.IsNullOrEmpty(domain))
        {
            return null;
        }

        string name = domain.EndsWith('.') ? domain[..^1] : domain;
        if (name.Length is 0 or > MaxDomainLength)
        {
            return null;
        }

        foreach (string label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return null;
            }

            foreach (char c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                {
                    return null;
                }
            }
        }

        return name.ToLowerInvariant();
    }

    /// <summary>The normalized, de-duplicated domains of a validated list.</summary>
    internal static List<string> NormalizeAll(IReadOnlyList<string> domains)
    {
        var result = new List<string>(domains.Count);
        foreach (string domain in domains)
        {
            string name = Normalize(domain)!;
            if (!result.Contains(name))
            {
                result.Add(name);
            }
        }

        return result;
    }

    private static void ValidateDomains(IReadOnlyList<string>? domains, string parameterName)
    {
        if (domains is null)
        {
            throw new ArgumentException($"{parameterName} must not be null; use an empty list.", parameterName);
        }

        foreach (string domain in domains)
        {
            if (Normalize(domain) is null)
            {
                throw new ArgumentException(
                    $"'{domain}' is not a domain name (labels of letters, digits, '-' or '_', separated by dots, at most {MaxDomainLength} characters).",
                    parameterName);
            }
        }
    }
}
