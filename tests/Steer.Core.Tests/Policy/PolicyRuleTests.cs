using System.Net;
using Steer.Policy;

namespace Steer.Core.Tests.Policy;

public sealed class PolicyRuleTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0/8", null, false, 0, 0, 65535)]
    [InlineData("2001:db8::/32", "2001:db8::/32", null, false, 0, 0, 65535)]
    [InlineData("192.0.2.7", "192.0.2.7/32", null, false, 0, 0, 65535)]
    [InlineData("2001:db8::1", "2001:db8::1/128", null, false, 0, 0, 65535)]
    [InlineData("Example.COM.", null, "example.com", false, 0, 0, 65535)]
    [InlineData("*.Example.com", null, "example.com", true, 0, 0, 65535)]
    [InlineData("tcp/8443", null, null, false, 6, 8443, 8443)]
    [InlineData("UDP/53", null, null, false, 17, 53, 53)]
    [InlineData("tcp/8000-8100", null, null, false, 6, 8000, 8100)]
    [InlineData("10.0.0.0/8:tcp/22", "10.0.0.0/8", null, false, 6, 22, 22)]
    [InlineData("2001:db8::/32:udp/53", "2001:db8::/32", null, false, 17, 53, 53)]
    [InlineData("2001:db8::5:tcp/1-1024", "2001:db8::5/128", null, false, 6, 1, 1024)]
    [InlineData("*.corp.example.com:tcp/443", null, "corp.example.com", true, 6, 443, 443)]
    [InlineData("_ldap._tcp.example.com", null, "_ldap._tcp.example.com", false, 0, 0, 65535)]
    public void TryParse_ValidRule_Fields(string text, string? network, string? domain, bool wildcard, int protocol, int first, int last)
    {
        Assert.True(PolicyRule.TryParse(text, PolicyRuleKind.Include, out PolicyRule? rule, out string problem), problem);

        Assert.Equal(network is null ? null : IPNetwork.Parse(network), rule.Network);
        Assert.Equal(domain, rule.Domain);
        Assert.Equal(wildcard, rule.IsWildcard);
        Assert.Equal(protocol, rule.Protocol);
        Assert.Equal(first, rule.FirstPort);
        Assert.Equal(last, rule.LastPort);
        Assert.Equal(PolicyAction.Tunnel, rule.Action);
        Assert.Equal(PolicyRuleOrigin.Configuration, rule.Origin);
    }

    [Theory]
    [InlineData("10.0.0.0/8:tcp/22", "10.0.0.0/8:tcp/22")]
    [InlineData("*.Example.COM.:TCP/443", "*.example.com:tcp/443")]
    [InlineData("udp/8000-8100", "udp/8000-8100")]
    [InlineData("2001:DB8::/32", "2001:db8::/32")]
    public void Text_IsCanonical(string text, string canonical)
    {
        PolicyRule rule = PolicyRule.Parse(text, PolicyRuleKind.Exclude);

        Assert.Equal(canonical, rule.Text);
        Assert.Equal("exclude " + canonical, rule.ToString());
        Assert.Equal(canonical, PolicyRule.Parse(rule.Text, PolicyRuleKind.Exclude).Text);
    }

    [Theory]
    [InlineData("", "empty rule")]
    [InlineData("10.0.0.1/8", "host bits set")]
    [InlineData("10.0.0.0/33", "invalid prefix length")]
    [InlineData("tcp/0", "ports are 1 to 65535")]
    [InlineData("tcp/65536", "ports are 1 to 65535")]
    [InlineData("tcp/", "ports are 1 to 65535")]
    [InlineData("tcp/100-10", "empty port range")]
    [InlineData("tcp/80-", "ports are 1 to 65535")]
    [InlineData(":tcp/80", "empty destination")]
    [InlineData("ex ample.com", "not a domain name")]
    [InlineData("example..com", "not a domain name")]
    [InlineData("a*.example.com", "'*' that is not a leading")]
    [InlineData("*.*.example.com", "'*' that is not a leading")]
    [InlineData("10.1.2", "neither a valid IP address nor a domain")]
    [InlineData("icmp/8", "is not a valid CIDR")]
    public void TryParse_InvalidRule_SaysWhy(string text, string expected)
    {
        Assert.False(PolicyRule.TryParse(text, PolicyRuleKind.Include, out _, out string problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => PolicyRule.Parse(text, PolicyRuleKind.Include));
    }

    [Fact]
    public void TryParse_LongNames_LimitsEnforced()
    {
        string label63 = new('a', 63);
        Assert.True(PolicyRule.TryParse($"{label63}.com", PolicyRuleKind.Include, out _, out _));
        Assert.False(PolicyRule.TryParse($"{label63}a.com", PolicyRuleKind.Include, out _, out _));

        string name253 = string.Join('.', Enumerable.Repeat(new string('b', 49), 5)) + ".abc"; // 5 labels of 49, 4 dots, ".abc"
        Assert.Equal(253, name253.Length);
        Assert.True(PolicyRule.TryParse(name253, PolicyRuleKind.Include, out _, out _));
        Assert.False(PolicyRule.TryParse("x" + name253, PolicyRuleKind.Include, out _, out _));
    }
}
