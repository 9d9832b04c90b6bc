using System.Net;
using Steer.Configuration;
using Steer.Policy;

namespace Steer.Core.Tests.Configuration;

public sealed class PolicyConfigurationTests
{
    private const string Source = "acme.json";

    [Fact]
    public void Parse_WebModeWithRules_PolicyFields()
    {
        string json = TestDocuments.With("steering", """
            {
              "mode": "web",
              "includeCidrs": ["10.0.0.0/8"],
              "include": ["tcp/8443", "*.corp.example.com", "192.0.2.0/24:tcp/22"],
              "exclude": ["zoom.us", "2001:db8::/32:udp/3478-3481"],
              "excludeCidrs": ["10.1.0.0/16"]
            }
            """);

        SteeringSettings steering = TenantConfiguration.Parse(json, Source).Steering;

        Assert.Equal(PolicyMode.Web, steering.PolicyMode);
        Assert.Equal(SteeringMode.All, steering.Mode); // clients without policies route everything
        Assert.Equal(SteeringSettings.AllNetworks, steering.IncludeCidrs);
        Assert.Equal(["10.0.0.0/8", "tcp/8443", "*.corp.example.com", "192.0.2.0/24:tcp/22"], steering.IncludeRules.Select(r => r.Text));
        Assert.All(steering.IncludeRules, r => Assert.Equal(PolicyRuleKind.Include, r.Kind));
        Assert.Equal(["zoom.us", "2001:db8::/32:udp/3478-3481"], steering.ExcludeRules.Select(r => r.Text));
        Assert.All(steering.ExcludeRules, r => Assert.Equal(PolicyRuleKind.Exclude, r.Kind));
        Assert.Equal([IPNetwork.Parse("10.1.0.0/16")], steering.ExcludeCidrs);

        SteeringPolicy policy = SteeringPolicy.Create(SteeringPolicyOptions.FromSettings(steering));
        Assert.True(policy.Decide(IPAddress.Parse("198.51.100.1"), 6, 443).IsTunnel);
        Assert.True(policy.Decide(IPAddress.Parse("198.51.100.1"), 6, 8443).IsTunnel);
        Assert.False(policy.Decide(IPAddress.Parse("198.51.100.1"), 6, 22).IsTunnel);
        Assert.True(policy.Decide(IPAddress.Parse("10.2.0.1"), 6, 22).IsTunnel);
        Assert.False(policy.Decide(IPAddress.Parse("10.1.0.1"), 6, 443).IsTunnel);
        Assert.True(policy.Decide(IPAddress.Parse("192.0.2.1"), 6, 22).IsTunnel);
        Assert.False(policy.Decide(IPAddress.Parse("2001:db8::1"), 17, 3479).IsTunnel);
        Assert.Equal(2, policy.Domains.Count);
    }

    [Fact]
    public void Parse_ListedMode_PlainCidrRulesAlsoInIncludeCidrs()
    {
        string json = TestDocuments.With("steering", """
            { "mode": "LISTED", "include": ["10.0.0.0/8", "10.0.0.0/8:tcp/22", "*.corp.example.com"], "includeCidrs": ["2001:db8::/32"] }
            """);

        SteeringSettings steering = TenantConfiguration.Parse(json, Source).Steering;

        Assert.Equal(PolicyMode.Listed, steering.PolicyMode);
        Assert.Equal(SteeringMode.Cidrs, steering.Mode);
        Assert.Equal([IPNetwork.Parse("2001:db8::/32"), IPNetwork.Parse("10.0.0.0/8")], steering.IncludeCidrs);

        SteeringPolicyOptions options = SteeringPolicyOptions.FromSettings(steering);
        Assert.Equal(["10.0.0.0/8", "10.0.0.0/8:tcp/22", "*.corp.example.com", "2001:db8::/32"], options.Rules.Select(r => r.Text)); // no duplicates
        Assert.Equal(PolicyMode.Listed, options.Mode);
    }

    [Fact]
    public void Parse_ListedMode_OnlyDomains_Allowed()
    {
        string json = TestDocuments.With("steering", """{ "mode": "listed", "include": ["*.corp.example.com"] }""");

        SteeringSettings steering = TenantConfiguration.Parse(json, Source).Steering;

        Assert.Empty(steering.IncludeCidrs);
        Assert.Single(steering.IncludeRules);
    }

    [Fact]
    public void Parse_CidrsMode_IsListedWithIncludeRules()
    {
        string json = TestDocuments.With("steering", """{ "mode": "cidrs", "include": ["*.corp.example.com"] }""");

        SteeringSettings steering = TenantConfiguration.Parse(json, Source).Steering;

        Assert.Equal(PolicyMode.Listed, steering.PolicyMode);
        Assert.Equal(SteeringMode.Cidrs, steering.Mode);
    }

    [Fact]
    public void Parse_ExistingDocuments_PolicyDefaults()
    {
        SteeringSettings full = TenantConfiguration.Parse(TestDocuments.Full, Source).Steering;
        SteeringSettings minimal = TenantConfiguration.Parse(TestDocuments.Minimal(), Source).Steering;

        Assert.Equal(PolicyMode.Listed, full.PolicyMode);
        Assert.Empty(full.IncludeRules);
        Assert.Empty(full.ExcludeRules);
        Assert.Equal(PolicyMode.All, minimal.PolicyMode);
        Assert.Equal(PolicyMode.All, SteeringSettings.Default.PolicyMode);
        Assert.Equal(PolicyMode.Listed, new SteeringSettings { Mode = SteeringMode.Cidrs }.PolicyMode);

        SteeringPolicyOptions options = SteeringPolicyOptions.FromSettings(full);
        Assert.Equal(["10.0.0.0/8", "2001:db8::/32", "10.1.0.0/16"], options.Rules.Select(r => r.Text));
        Assert.Equal([PolicyRuleKind.Include, PolicyRuleKind.Include, PolicyRuleKind.Exclude], options.Rules.Select(r => r.Kind));
    }

    [Fact]
    public void Parse_ModeAllWithRules_IncludesOverrideExcludes()
    {
        string json = TestDocuments.With("steering", """{ "mode": "all", "exclude": ["10.0.0.0/8"], "include": ["10.1.0.0/16"] }""");

        SteeringPolicy policy = SteeringPolicy.Create(SteeringPolicyOptions.FromSettings(TenantConfiguration.Parse(json, Source).Steering));

        Assert.False(policy.Decide(IPAddress.Parse("10.2.0.1")).IsTunnel);
        Assert.True(policy.Decide(IPAddress.Parse("10.1.0.1")).IsTunnel);
        Assert.True(policy.Decide(IPAddress.Parse("198.51.100.1")).IsTunnel);
    }

    [Theory]
    [InlineData("""{ "mode": "listed" }""", "steering.include", "at least one include rule is required when steering.mode is 'listed'")]
    [InlineData("""{ "mode": "some" }""", "steering.mode", "'some' is not a steering mode: must be 'all' (steer everything), 'web'")]
    [InlineData("""{ "include": ["10.0.0.1/8"] }""", "steering.include[0]", "'10.0.0.1/8' has host bits set")]
    [InlineData("""{ "include": ["tcp/8443", null] }""", "steering.include[1]", "must be a rule string")]
    [InlineData("""{ "exclude": ["ok.example.com", "bad..example.com"] }""", "steering.exclude[1]", "'bad..example.com' is not a rule")]
    [InlineData("""{ "exclude": ["tcp/70000"] }""", "steering.exclude[0]", "ports are 1 to 65535")]
    [InlineData("""{ "exclude": ["a*.example.com"] }""", "steering.exclude[0]", "a wildcard is written *.example.com")]
    [InlineData("""{ "include": "10.0.0.0/8" }""", "steering.include", "wrong JSON type: must be an array of strings")]
    [InlineData("""{ "exclude": [7] }""", "steering.exclude[0]", "wrong JSON type: must be a string")]
    [InlineData("""{ "mode": "web", "includeCidrs": ["10.0.0.1/8"] }""", "steering.includeCidrs[0]", "host bits set")]
    public void Parse_InvalidPolicy_PathAndReason(string steering, string path, string expected)
    {
        var ex = Assert.Throws<TenantConfigurationException>(() => TenantConfiguration.Parse(TestDocuments.With("steering", steering), Source));

        Assert.Equal(path, ex.JsonPath);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
