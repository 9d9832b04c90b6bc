using System.Net;
using System.Net.Sockets;
using Steer.Tun.Dns;

namespace Steer.Tun.Tests.Dns;

/// <summary>The values written to the interface DNS settings and the NRPT rule on Windows.</summary>
public sealed class WindowsDnsSettingsUnitTests
{
    private static readonly DnsConfiguration s_split = new()
    {
        Servers = [IPAddress.Parse("100.64.0.53"), IPAddress.Parse("fe80::53%12"), IPAddress.Parse("100.64.0.54")],
        MatchDomains = ["Corp.Example.com.", "example.net"],
        SearchDomains = ["corp.example.com"],
        InterfaceIndex = 12,
    };

    [Fact]
    public void NrptNamespaces_AreTheDomainsWithALeadingDot()
    {
        Assert.Equal([".corp.example.com", ".example.net"], WindowsDnsSettings.NrptNamespaces(s_split));
    }

    [Fact]
    public void NrptNamespaces_WithoutMatchDomains_IsTheRootForEveryName()
    {
        Assert.Equal(["."], WindowsDnsSettings.NrptNamespaces(new DnsConfiguration { Servers = [IPAddress.Loopback] }));
    }

    [Fact]
    public void Servers_AreSemicolonSeparatedForNrptAndCommaSeparatedPerFamily()
    {
        Assert.Equal("100.64.0.53;fe80::53;100.64.0.54", WindowsDnsSettings.NrptServers(s_split));
        Assert.Equal("100.64.0.53,100.64.0.54", WindowsDnsSettings.NameServers(s_split, AddressFamily.InterNetwork));
        Assert.Equal("fe80::53", WindowsDnsSettings.NameServers(s_split, AddressFamily.InterNetworkV6));
        Assert.Equal("corp.example.com", WindowsDnsSettings.SearchList(s_split));
    }

    [Fact]
    public void NrptRuleKey_IsUnderDnsPolicyConfigWithABracedGuid()
    {
        Assert.Equal(@"SYSTEM\CurrentControlSet\Services\Dnscache\Parameters\DnsPolicyConfig", WindowsDnsSettings.NrptKeyPath);
        Assert.True(Guid.TryParseExact(WindowsDnsSettings.NrptRuleKeyName, "B", out _));
        Assert.Equal(8, WindowsDnsSettings.NrptConfigOptionsGenericDnsServers);
        Assert.Equal(2, WindowsDnsSettings.NrptRuleVersion);
    }
}
