using System.Net;
using System.Net.Sockets;

namespace Steer.Tun.Dns;

/// <summary>
/// The values Windows DNS configuration is made of, as pure functions: the per-interface server lists for
/// SetInterfaceDnsSettings and the NRPT (Name Resolution Policy Table) rule that sends names to Steer's servers.
/// </summary>
internal static class WindowsDnsSettings
{
    /// <summary>The registry key of the local NRPT rules, under HKEY_LOCAL_MACHINE.</summary>
    internal const string NrptKeyPath = @"SYSTEM\CurrentControlSet\Services\Dnscache\Parameters\DnsPolicyConfig";

    /// <summary>The name of Steer's rule key: a fixed GUID, so a rule left by a crashed run is found and replaced.</summary>
    internal const string NrptRuleKeyName = "{8C6A2E3B-5D1F-4B7A-9E0C-2F4D6A8B1C35}";

    /// <summary>NRPT "Version" value of a rule.</summary>
    internal const int NrptRuleVersion = 2;

    /// <summary>NRPT "ConfigOptions" flag: the rule names generic DNS servers (<c>GenericDNSServers</c>).</summary>
    internal const int NrptConfigOptionsGenericDnsServers = 0x8;

    /// <summary>
    /// The NRPT namespaces for the configuration: <c>.domain</c> (the domain and everything under it) per match
    /// domain, or <c>.</c> (every name) when there are none.
    /// </summary>
    internal static string[] NrptNamespaces(DnsConfiguration configuration)
    {
        List<string> domains = DnsConfiguration.NormalizeAll(configuration.MatchDomains);
        return domains.Count == 0 ? ["."] : domains.Select(d => "." + d).ToArray();
    }

    /// <summary>The NRPT <c>GenericDNSServers</c> value: the servers separated by semicolons.</summary>
    internal static string NrptServers(DnsConfiguration configuration)
        => string.Join(";", configuration.Servers.Select(Format));

    /// <summary>The <c>NameServer</c> string for one family: that family's servers separated by commas (may be empty).</summary>
    internal static string NameServers(DnsConfiguration configuration, AddressFamily family)
        => string.Join(",", configuration.Servers.Where(s => s.AddressFamily == family).Select(Format));

    /// <summary>The <c>SearchList</c> string: the search domains separated by commas (may be empty).</summary>
    internal static string SearchList(DnsConfiguration configuration)
        => string.Join(",", DnsConfiguration.NormalizeAll(configuration.SearchDomains));

    /// <summary>Formats an address the way the DNS settings expect (no scope id).</summary>
    internal static string Format(IPAddress address) => new IPAddress(address.GetAddressBytes()).ToString();
}
