using Steer.Policy;

namespace Steer.Core.Tests.Policy;

public sealed class DomainMatcherTests
{
    private static PolicyRule Include(string text) => PolicyRule.Parse(text, PolicyRuleKind.Include);

    private static PolicyRule Exclude(string text) => PolicyRule.Parse(text, PolicyRuleKind.Exclude);

    [Theory]
    [InlineData("example.com", true)]
    [InlineData("EXAMPLE.com.", true)]
    [InlineData("www.example.com", false)]
    [InlineData("notexample.com", false)]
    [InlineData("example.com.evil", false)]
    public void Exact_MatchesOnlyThatName(string name, bool matches)
    {
        var matcher = new DomainMatcher([Include("example.com")]);

        Assert.Equal(matches, matcher.TryMatch(name, out IReadOnlyList<PolicyRule> rules));
        Assert.Equal(matches ? 1 : 0, rules.Count);
    }

    [Theory]
    [InlineData("example.com", false)]
    [InlineData("www.example.com", true)]
    [InlineData("a.b.c.EXAMPLE.COM.", true)]
    [InlineData("wwwexample.com", false)]
    [InlineData("example.com.org", false)]
    public void Wildcard_MatchesSubdomainsOnly(string name, bool matches)
    {
        var matcher = new DomainMatcher([Include("*.example.com")]);

        Assert.Equal(matches, matcher.Decide(name, 0, -1) is not null);
    }

    [Fact]
    public void Precedence_ExactBeatsWildcard_LongerSuffixBeatsShorter()
    {
        PolicyRule all = Include("*.example.com");
        PolicyRule corp = Exclude("*.corp.example.com");
        PolicyRule host = Include("vpn.corp.example.com");
        var matcher = new DomainMatcher([all, corp, host, Include("10.0.0.0/8")]);

        Assert.Equal(3, matcher.Count);
        Assert.Same(host, matcher.Decide("vpn.corp.example.com", 6, 443));
        Assert.Same(corp, matcher.Decide("mail.corp.example.com", 6, 443));
        Assert.Same(all, matcher.Decide("www.example.com", 6, 443));
        Assert.Null(matcher.Decide("example.org", 6, 443));
    }

    [Fact]
    public void Ports_PortedRuleWinsWhenItMatches_OtherwiseTheNextPatternDecides()
    {
        PolicyRule web = Include("app.example.com:tcp/443");
        PolicyRule wide = Exclude("*.example.com");
        var matcher = new DomainMatcher([web, wide]);

        Assert.Same(web, matcher.Decide("app.example.com", 6, 443));
        Assert.Same(wide, matcher.Decide("app.example.com", 6, 22));
        Assert.Same(wide, matcher.Decide("app.example.com", 0, -1));
    }

    [Fact]
    public void Tie_ExcludeWins()
    {
        PolicyRule include = Include("example.com");
        PolicyRule exclude = Exclude("example.com");

        Assert.Same(exclude, new DomainMatcher([include, exclude]).Decide("example.com", 6, 80));
        Assert.Same(exclude, new DomainMatcher([exclude, include]).Decide("example.com", 6, 80));
    }

    [Fact]
    public void TryDecideResolution_IncludeAnywhereFirst_TunnelUnportedExcludeDirect()
    {
        var matcher = new DomainMatcher([
            Include("*.corp.example.com"),
            Exclude("public.corp.example.com"),
            Exclude("*.example.com:tcp/80"),
            Include("api.example.com:tcp/443"),
        ]);

        Assert.True(matcher.TryDecideResolution("git.corp.example.com", out PolicyRule rule));
        Assert.Equal(PolicyAction.Tunnel, rule.Action);
        Assert.True(matcher.TryDecideResolution("public.corp.example.com", out rule));
        Assert.Equal(PolicyAction.Direct, rule.Action);
        Assert.True(matcher.TryDecideResolution("api.example.com", out rule)); // some traffic to it is steered
        Assert.Equal(PolicyAction.Tunnel, rule.Action);
        Assert.False(matcher.TryDecideResolution("www.example.com", out _)); // only a ported exclude: the default decides
        Assert.False(matcher.TryDecideResolution("example.net", out _));
    }
}
