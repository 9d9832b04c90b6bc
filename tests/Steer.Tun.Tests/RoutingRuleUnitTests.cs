using System.Net;
using System.Net.Sockets;

namespace Steer.Tun.Tests;

public sealed class RoutingRuleUnitTests
{
    [Fact]
    public void ToString_EverySelector_ReadsLikeIpRule()
    {
        var rule = new RoutingRule(AddressFamily.InterNetwork, 100, 5354)
        {
            Invert = true,
            Destination = IPNetwork.Parse("198.18.0.0/15"),
            FirewallMark = 0x5354,
            IpProtocol = ProtocolType.Tcp,
            DestinationPorts = (80, 443),
            SuppressPrefixLength = 0,
        };

        Assert.Equal("inet priority 100 not to 198.18.0.0/15 fwmark 0x5354 ipproto tcp dport 80-443 lookup 5354 suppress_prefixlength 0", rule.ToString());
        Assert.Equal("inet6 priority 7 ipproto udp dport 443 lookup 254", new RoutingRule(AddressFamily.InterNetworkV6, 7, 254) { IpProtocol = ProtocolType.Udp, DestinationPorts = (443, 443) }.ToString());
    }

    [Fact]
    public void Equality_SameSelectors_AreEqual()
    {
        var a = new RoutingRule(AddressFamily.InterNetwork, 100, 5354) { DestinationPorts = (80, 443), Destination = IPNetwork.Parse("198.18.0.0/15") };
        var b = new RoutingRule(AddressFamily.InterNetwork, 100, 5354) { DestinationPorts = (80, 443), Destination = IPNetwork.Parse("198.18.0.0/15") };

        Assert.Equal(a, b);
        Assert.NotEqual(a, b with { Invert = true });
    }

    [Fact]
    public void RouteEntry_ToString_NamesTheType()
    {
        Assert.Equal("throw 198.18.58.0/24 table 5354", RouteEntry.WithoutInterface(RouteType.Throw, IPNetwork.Parse("198.18.58.0/24"), 5354).ToString());
        Assert.Equal("198.18.57.0/24 dev #3 via 198.18.55.2 table 254 metric 5", new RouteEntry(IPNetwork.Parse("198.18.57.0/24"), 3, IPAddress.Parse("198.18.55.2"), Metric: 5).ToString());
    }
}
