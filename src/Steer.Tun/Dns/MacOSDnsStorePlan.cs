using System.Net;

namespace Steer.Tun.Dns;

/// <summary>
/// What Steer puts into the macOS SystemConfiguration dynamic store for a <see cref="DnsConfiguration"/>: pure
/// decisions (keys and dictionary contents), unit-tested on any OS; <see cref="MacOSDynamicStore"/> only writes them.
/// </summary>
/// <remarks>
/// <para>
/// <b>How macOS picks DNS servers.</b> mDNSResponder resolves with the resolver list configd's IPMonitor builds
/// (<c>scutil --dns</c>). The default resolver comes from the primary network service; <c>/etc/resolver/&lt;domain&gt;</c>
/// files (resolver(5)) and the <c>SupplementalMatchDomains</c> of any service's <c>State:/Network/Service/&lt;id&gt;/DNS</c>
/// dictionary add "supplemental" resolvers for their domains. A supplemental match domain that is the empty string
/// makes a supplemental resolver without a domain, i.e. one for every name: Apple documents this for VPN payloads
/// ("If SupplementalMatchDomains contains the empty string it becomes the default domain. Split-tunnel configurations
/// can direct all DNS queries to the VPN DNS servers before the primary DNS servers": NEDNSSettings.matchDomains and
/// the VPN.DNS MDM payload), configd implements it (IPMonitor's <c>get_dns_changes</c> merges SupplementalMatchDomains
/// with ALLOW_EMPTY_STRING and keeps the DNS dictionary of a service that has no IPv4/IPv6 entity when it holds
/// supplemental match domains; in <c>dns-configuration.c</c>, <c>add_supplemental</c> makes an empty match domain a
/// resolver without a domain and <c>add_supplemental_resolvers</c> gives it the search order 100000 + 200·i, ahead of
/// the default resolver's 200000 (<c>DEFAULT_SEARCH_ORDER</c>, dnsinfo.h)), and
/// Tailscale's tailscaled uses exactly this for its global resolver (<c>net/dns/manager_darwin.go</c>, <c>setGlobalDNS</c>:
/// a synthetic <c>State:/Network/Service/&lt;UUID&gt;/DNS</c> with <c>SupplementalMatchDomains = [""]</c>).
/// </para>
/// <para>
/// <b>Why not override the primary service's DNS</b> (Tunnelblick's and older OpenVPN up-scripts' way: save
/// <c>State:/Network/Service/&lt;PrimaryService&gt;/DNS</c>, write Steer's servers there, put it back afterwards): IPMonitor
/// prefers the servers of the <c>Setup:</c> entity (set by hand in System Settings) over <c>State:</c> ones
/// (<c>merge_dns_servers</c>), so Tunnelblick has to overwrite <c>Setup:</c> keys too; the DHCP client rewrites the
/// <c>State:</c> entity at every lease renewal and the primary service changes with the network (Tunnelblick runs a
/// watcher that reapplies); and Steer would have to save and restore another program's keys, also after a crash.
/// vpnc-script's way (an IPv4 entity with <c>OverridePrimary</c> for the tunnel's own service) makes IPMonitor elect the
/// tunnel as primary service, which also moves the default route — wrong for Steer, which installs its own routes and
/// sends names it does not steer to the network's resolver.
/// </para>
/// <para>
/// <b>So:</b> every name → Steer's own synthetic service <see cref="DnsKey"/> with <see cref="ServerAddresses"/> and
/// <see cref="SupplementalMatchDomains"/> <c>[""]</c>. Search domains → the same dictionary: IPMonitor strips
/// <c>SearchDomains</c> from a service without an IPv4/IPv6 entity, but appends every non-empty supplemental match
/// domain to the default resolver's search list (<c>extract_search_domains</c>, unless SupplementalMatchDomainsNoSearch),
/// so each search domain is listed as a match domain as well — which also sends names in it to Steer's servers, as a
/// search domain of a systemd-resolved link does. Split DNS stays in resolver files (<see cref="MacOSResolverFileConfigurator"/>):
/// resolver(5) is the documented, long-standing mechanism and does not depend on how IPMonitor treats a service without
/// addresses. The dictionary also carries <see cref="SearchOrder"/> 100000 (as Tailscale's does; IPMonitor computes the
/// same order for such a service anyway) and, for a port other than 53, <see cref="ServerPort"/>.
/// </para>
/// <para>
/// <b>Limits.</b> The documented semantics are "before the primary DNS servers", not "instead of": when Steer's
/// servers do not answer, mDNSResponder may retry with the primary service's servers. Queries an application scopes
/// to one interface use that interface's resolver. Compiled here, never run on a Mac.
/// </para>
/// </remarks>
internal static class MacOSDnsStorePlan
{
    /// <summary>
    /// Steer's synthetic network service id: a fixed UUID that names no real service, so that every Steer process (and
    /// the leftover check) finds the same key. It is only ever used in the volatile <c>State:</c> domain.
    /// </summary>
    internal const string ServiceId = "788CF44E-1D11-4674-BAF4-4A3150455030";

    /// <summary>The dynamic-store key Steer writes: the DNS entity of its synthetic service.</summary>
    internal const string DnsKey = "State:/Network/Service/" + ServiceId + "/DNS";

    /// <summary>The name of Steer's dynamic-store session (shown by configd's session list).</summary>
    internal const string SessionName = "Steer";

    /// <summary><c>kSCPropNetDNSServerAddresses</c>: array of address strings.</summary>
    internal const string ServerAddresses = "ServerAddresses";

    /// <summary><c>kSCPropNetDNSSupplementalMatchDomains</c>: array of domain strings; "" means every name.</summary>
    internal const string SupplementalMatchDomains = "SupplementalMatchDomains";

    /// <summary><c>kSCPropNetDNSSearchDomains</c>: array of domain strings.</summary>
    internal const string SearchDomains = "SearchDomains";

    /// <summary><c>kSCPropNetDNSSearchOrder</c>: number; lower is tried first.</summary>
    internal const string SearchOrder = "SearchOrder";

    /// <summary><c>kSCPropNetDNSServerPort</c>: number.</summary>
    internal const string ServerPort = "ServerPort";

    /// <summary>The supplemental match domain that stands for every name.</summary>
    internal const string EveryNameMatchDomain = "";

    /// <summary>
    /// configd's <c>DEFAULT_SEARCH_ORDER</c> (dnsinfo.h): the order of the default resolver. Supplemental resolvers
    /// get half of it (plus 200 per service), so they are consulted first.
    /// </summary>
    internal const int DefaultSearchOrder = 200000;

    /// <summary>The <see cref="SearchOrder"/> Steer writes: <see cref="DefaultSearchOrder"/> / 2, ahead of the default resolver.</summary>
    internal const int SteerSearchOrder = DefaultSearchOrder / 2;

    /// <summary>True when the configuration sends every name to its servers (no match domains).</summary>
    internal static bool IsEveryName(DnsConfiguration configuration) => configuration.MatchDomains.Count == 0;

    /// <summary>The domains that get a resolver file: the match domains of split DNS; none for every name.</summary>
    internal static IReadOnlyList<string> ResolverFileDomains(DnsConfiguration configuration)
        => IsEveryName(configuration) ? [] : DnsConfiguration.NormalizeAll(configuration.MatchDomains);

    /// <summary>
    /// The dictionary for <see cref="DnsKey"/>, or null when the configuration needs none (split DNS without search
    /// domains: resolver files do it all). Every name: match domains <c>""</c> followed by the search domains; split
    /// DNS with search domains: the search domains. The configuration must be valid.
    /// </summary>
    internal static MacOSStoreDictionary? StoreEntry(DnsConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        List<string> search = DnsConfiguration.NormalizeAll(configuration.SearchDomains);
        bool everyName = IsEveryName(configuration);
        if (!everyName && search.Count == 0)
        {
            return null;
        }

        var match = new List<string>(search.Count + 1);
        if (everyName)
        {
            match.Add(EveryNameMatchDomain);
        }

        match.AddRange(search);
        var entry = new MacOSStoreDictionary()
            .Set(ServerAddresses, MacOSStoreValue.Strings(configuration.Servers.Select(FormatAddress)))
            .Set(SupplementalMatchDomains, MacOSStoreValue.Strings(match))
            .Set(SearchOrder, MacOSStoreValue.Number(SteerSearchOrder));
        if (search.Count > 0)
        {
            entry.Set(SearchDomains, MacOSStoreValue.Strings(search));
        }

        if (configuration.Port != DnsConfiguration.DefaultPort)
        {
            entry.Set(ServerPort, MacOSStoreValue.Number(configuration.Port));
        }

        return entry;
    }

    /// <summary>
    /// An address as IPMonitor parses it (<c>inet_pton</c>): without a scope id, which it would reject; IPMonitor only
    /// scopes a link-local server itself for a service with an interface, which Steer's synthetic service has not.
    /// </summary>
    internal static string FormatAddress(IPAddress address) => new IPAddress(address.GetAddressBytes()).ToString();
}
