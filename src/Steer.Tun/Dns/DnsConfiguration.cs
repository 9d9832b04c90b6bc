using System.Net;
using System.Net.Sockets;

namespace Steer.Tun.Dns;

/// <summary>What <see cref="IDnsConfigurator.Apply"/> points the system resolver at.</summary>
public sealed class DnsConfiguration
{
    /// <summary>The longest domain name, in characters, without the trailing dot.</summary>
    public const int MaxDomainLength = 253;

    /// <summary>DNS servers, IPv4 or IPv6, in order of preference. At least one is required.</summary>
    public IReadOnlyList<IPAddress> Servers { get; set; } = [];

    /// <summary>
    /// Domains whose names (and subdomains) go to <see cref="Servers"/>; empty means every name.
    /// </summary>
    /// <remarks>Defaults to empty. Names are compared case-insensitively; a trailing dot is ignored.</remarks>
    public IReadOnlyList<string> MatchDomains { get; set; } = [];

    /// <summary>Domains appended to single-label names (the search list). Defaults to empty.</summary>
    public IReadOnlyList<string> SearchDomains { get; set; } = [];

    /// <summary>Index of the tunnel interface; required on Windows, where DNS servers are set per interface.</summary>
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
