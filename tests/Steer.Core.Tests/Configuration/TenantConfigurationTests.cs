using System.Net;
using Steer.Configuration;
using Xunit;

namespace Steer.Core.Tests.Configuration;

public sealed class TenantConfigurationTests
{
    private const string Source = "acme.json";

    [Fact]
    public void Parse_FullDocument_AllFields()
    {
        TenantConfiguration config = TenantConfiguration.Parse(TestDocuments.Full, Source);

        Assert.Equal(1, config.Version);
        Assert.Equal("acme", config.Tenant);
        Assert.Equal(2, config.Gateways.Count);
        GatewayEndpoint first = config.Gateways[0];
        Assert.Equal("lab-1", first.Name);
        Assert.Equal("198.18.1.1", first.Address);
        Assert.Equal(443, first.Port);
        Assert.Equal([TestDocuments.PinA], first.Pins);
        Assert.Equal("lab", first.Location);
        Assert.Equal("198.18.1.1:443", first.HostAndPort);
        GatewayEndpoint second = config.Gateways[1];
        Assert.Equal("gw2.example.net", second.Address);
        Assert.Equal(GatewayEndpoint.DefaultPort, second.Port);
        Assert.Equal([TestDocuments.PinB, TestDocuments.PinA], second.Pins);
        Assert.Null(second.Location);

        Assert.Equal(SteeringMode.Cidrs, config.Steering.Mode);
        Assert.Equal([IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("2001:db8::/32")], config.Steering.IncludeCidrs);
        Assert.Equal([IPNetwork.Parse("10.1.0.0/16")], config.Steering.ExcludeCidrs);
        Assert.Equal([IPAddress.Parse("100.64.0.1"), IPAddress.Parse("fd00::53")], config.Dns.Servers);
        Assert.Equal(["corp.example.com"], config.Dns.SearchDomains);
        Assert.Equal(FailMode.Closed, config.FailMode);
    }

    [Fact]
    public void Parse_BriefExample_ModeAllWithBothDefaultRanges()
    {
        string json = $$"""
            {
              "version": 1,
              "tenant": "acme",
              "gateways": [ { "name": "lab-1", "address": "198.18.1.1", "port": 443, "pins": ["{{TestDocuments.PinA}}"], "location": "lab" } ],
              "steering": { "mode": "all", "includeCidrs": ["0.0.0.0/0", "::/0"], "excludeCidrs": [] },
              "dns": { "servers": ["100.64.0.1"], "searchDomains": [] },
              "failMode": "open"
            }
            """;

        TenantConfiguration config = TenantConfiguration.Parse(json, Source);

        Assert.Equal(SteeringMode.All, config.Steering.Mode);
        Assert.Equal([IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("::/0")], config.Steering.IncludeCidrs);
        Assert.Empty(config.Steering.ExcludeCidrs);
        Assert.Equal(FailMode.Open, config.FailMode);
    }

    [Fact]
    public void Parse_MinimalDocument_Defaults()
    {
        TenantConfiguration config = TenantConfiguration.Parse(TestDocuments.Minimal(), Source);

        Assert.Equal(SteeringMode.All, config.Steering.Mode);
        Assert.Equal([IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("::/0")], config.Steering.IncludeCidrs);
        Assert.Empty(config.Steering.ExcludeCidrs);
        Assert.Empty(config.Dns.Servers);
        Assert.Empty(config.Dns.SearchDomains);
        Assert.Equal(FailMode.Open, config.FailMode);
        Assert.Equal(443, config.Gateways[0].Port);
    }

    [Fact]
    public void Parse_SteeringWithoutMode_DefaultsToAllAndKeepsExcludes()
    {
        string json = TestDocuments.With("steering", """{ "excludeCidrs": ["192.0.2.0/24"] }""");

        TenantConfiguration config = TenantConfiguration.Parse(json, Source);

        Assert.Equal(SteeringMode.All, config.Steering.Mode);
        Assert.Equal(2, config.Steering.IncludeCidrs.Count);
        Assert.Equal([IPNetwork.Parse("192.0.2.0/24")], config.Steering.ExcludeCidrs);
    }

    [Fact]
    public void Parse_CommentsTrailingCommasAndCase_Tolerated()
    {
        string json = $$"""
            {
              // hand-written files may have comments
              "Version": 1,
              "tenant": "acme",
              "gateways": [ { "name": "gw", "address": "gw.example.net", "pins": ["{{TestDocuments.PinA}}",], }, ],
              "failMode": "CLOSED",
            }
            """;

        TenantConfiguration config = TenantConfiguration.Parse(json, Source);

        Assert.Equal(FailMode.Closed, config.FailMode);
    }

    [Fact]
    public void ToJson_FullDocument_ParsesBackToTheSameValues()
    {
        TenantConfiguration original = TenantConfiguration.Parse(TestDocuments.Full, Source);

        TenantConfiguration copy = TenantConfiguration.Parse(original.ToJson(), "copy");

        Assert.Equal(original.Tenant, copy.Tenant);
        Assert.Equal(original.Gateways.Select(g => (g.Name, g.Address, g.Port, string.Join(',', g.Pins), g.Location)),
            copy.Gateways.Select(g => (g.Name, g.Address, g.Port, string.Join(',', g.Pins), g.Location)));
        Assert.Equal(original.Steering.Mode, copy.Steering.Mode);
        Assert.Equal(original.Steering.IncludeCidrs, copy.Steering.IncludeCidrs);
        Assert.Equal(original.Steering.ExcludeCidrs, copy.Steering.ExcludeCidrs);
        Assert.Equal(original.Dns.Servers, copy.Dns.Servers);
        Assert.Equal(original.Dns.SearchDomains, copy.Dns.SearchDomains);
        Assert.Equal(original.FailMode, copy.FailMode);
    }

    [Theory]
    [InlineData("version", null, "version", "is required")]
    [InlineData("version", "2", "version", "2 is not supported: this version of Steer reads tenant configuration version 1 only")]
    [InlineData("version", "\"1\"", "version", "whole number 1")]
    [InlineData("tenant", null, "tenant", "is required")]
    [InlineData("tenant", "\"Acme\"", "tenant", "lowercase letter a-z, a digit 0-9 or '-'")]
    [InlineData("tenant", "\"acme_corp\"", "tenant", "'acme_corp' is not a valid tenant name")]
    [InlineData("tenant", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", "tenant", "1 to 63 characters")]
    [InlineData("tenant", "7", "tenant", "wrong JSON type: must be a string")]
    [InlineData("gateways", null, "gateways", "at least one gateway is required")]
    [InlineData("gateways", "[]", "gateways", "at least one gateway is required")]
    [InlineData("gateways", "{}", "gateways", "must be an array of gateway objects")]
    [InlineData("gateways/0", "null", "gateways[0]", "must be a gateway object")]
    [InlineData("gateways/1", "\"gw\"", "gateways[1]", "must be a gateway object")]
    [InlineData("gateways/0/name", null, "gateways[0].name", "is required")]
    [InlineData("gateways/0/name", "\" \"", "gateways[0].name", "is required")]
    [InlineData("gateways/1/name", "\"LAB-1\"", "gateways[1].name", "'LAB-1' is already the name of gateways[0]: gateway names must be unique")]
    [InlineData("gateways/0/address", null, "gateways[0].address", "is required: the gateway's IP address or host name")]
    [InlineData("gateways/0/address", "\"300.1.1.1\"", "gateways[0].address", "'300.1.1.1' is not an IP address or host name")]
    [InlineData("gateways/0/address", "\"10.1\"", "gateways[0].address", "'10.1' is not an IP address or host name")]
    [InlineData("gateways/1/address", "\"gw.example.net:443\"", "gateways[1].address", "put the port in \"port\"")]
    [InlineData("gateways/1/address", "\"[2001:db8::1]\"", "gateways[1].address", "without brackets")]
    [InlineData("gateways/1/port", "0", "gateways[1].port", "0 is not a valid port: must be 1 to 65535")]
    [InlineData("gateways/0/port", "65536", "gateways[0].port", "must be 1 to 65535")]
    [InlineData("gateways/0/port", "\"443\"", "gateways[0].port", "wrong JSON type: must be a whole number")]
    [InlineData("gateways/0/port", "443.5", "gateways[0].port", "wrong JSON type: must be a whole number")]
    [InlineData("gateways/0/pins", null, "gateways[0].pins", "at least one certificate key pin is required")]
    [InlineData("gateways/0/pins", "[]", "gateways[0].pins", "at least one certificate key pin is required")]
    [InlineData("gateways/0/pins", "\"sha256/x\"", "gateways[0].pins", "wrong JSON type: must be an array of strings")]
    [InlineData("gateways/1/pins/1", "\"sha256/abc\"", "gateways[1].pins[1]",
        "'sha256/abc' is not a valid pin: it must be 'sha256/' followed by the base64 SHA-256 of the certificate's SubjectPublicKeyInfo (44 characters)")]
    [InlineData("gateways/0/pins/0", "\"sha1/8EYAYeBb5pYbhuIboLhnvJqEh1vpx8JpwAkLPtCszqw=\"", "gateways[0].pins[0]", "(44 characters)")]
    [InlineData("gateways/0/pins/0", "null", "gateways[0].pins[0]", "null is not a valid pin")]
    [InlineData("gateways/0/pins/0", "42", "gateways[0].pins[0]", "wrong JSON type: must be a string")]
    [InlineData("steering", "\"all\"", "steering", "wrong JSON type: must be an object")]
    [InlineData("steering/mode", "\"some\"", "steering.mode", "'some' is not a steering mode: must be 'all'")]
    [InlineData("steering/includeCidrs/0", "\"10.0.0.1/8\"", "steering.includeCidrs[0]", "'10.0.0.1/8' has host bits set: the network address of a /8 is 10.0.0.0, so write 10.0.0.0/8")]
    [InlineData("steering/includeCidrs/1", "\"2001:db8::1/32\"", "steering.includeCidrs[1]", "has host bits set: the network address of a /32 is 2001:db8::, so write 2001:db8::/32")]
    [InlineData("steering/includeCidrs/0", "\"10.0.0.0\"", "steering.includeCidrs[0]", "'10.0.0.0' has no prefix length")]
    [InlineData("steering/includeCidrs/0", "\"10.0.0.0/33\"", "steering.includeCidrs[0]", "invalid prefix length: must be 0 to 32 for an IPv4 address")]
    [InlineData("steering/includeCidrs/1", "\"2001:db8::/129\"", "steering.includeCidrs[1]", "must be 0 to 128 for an IPv6 address")]
    [InlineData("steering/includeCidrs/0", "\"10.0.0.0/-1\"", "steering.includeCidrs[0]", "invalid prefix length")]
    [InlineData("steering/includeCidrs/0", "\"banana/8\"", "steering.includeCidrs[0]", "'banana/8' is not a valid CIDR")]
    [InlineData("steering/includeCidrs/0", "null", "steering.includeCidrs[0]", "must be a CIDR string")]
    [InlineData("steering/includeCidrs", "[]", "steering.includeCidrs", "at least one CIDR is required when steering.mode is 'cidrs'")]
    [InlineData("steering/excludeCidrs/0", "\"10.1.2.0/16\"", "steering.excludeCidrs[0]", "host bits set")]
    [InlineData("steering/mode", "\"all\"", "steering.includeCidrs", "set steering.mode to 'cidrs' to steer only some networks")]
    [InlineData("dns/servers/0", "\"dns.example.net\"", "dns.servers[0]", "is not an IP address")]
    [InlineData("dns/servers", "\"100.64.0.1\"", "dns.servers", "wrong JSON type: must be an array of strings")]
    [InlineData("dns/searchDomains/0", "\"bad domain!\"", "dns.searchDomains[0]", "'bad domain!' is not a domain name")]
    [InlineData("failMode", "\"sometimes\"", "failMode", "'sometimes' is not a fail mode: must be 'open' or 'closed'")]
    [InlineData("failMode", "true", "failMode", "wrong JSON type: must be a string")]
    public void Parse_InvalidField_MessageNamesSourcePathAndProblem(string pointer, string? valueJson, string expectedPath, string expectedProblem)
    {
        string json = TestDocuments.With(pointer, valueJson);

        TenantConfigurationException ex = Assert.Throws<TenantConfigurationException>(() => TenantConfiguration.Parse(json, Source));

        Assert.StartsWith($"Tenant configuration '{Source}' is invalid: {expectedPath}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expectedProblem, ex.Message, StringComparison.Ordinal);
        Assert.Equal(expectedPath, ex.JsonPath);
        Assert.Equal(Source, ex.ConfigurationSource);
    }

    [Fact]
    public void Parse_MissingComma_ReportsLineAndPosition()
    {
        string json = "{\n  \"version\": 1,\n  \"tenant\": \"acme\"\n  \"gateways\": []\n}";

        TenantConfigurationException ex = Assert.Throws<TenantConfigurationException>(() => TenantConfiguration.Parse(json, Source));

        Assert.StartsWith($"Tenant configuration '{Source}' is not valid JSON: line 4, position 3: ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, ex.LineNumber);
        Assert.Equal(3, ex.Position);
        Assert.Null(ex.JsonPath);
        Assert.DoesNotContain("BytePositionInLine", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"version\": 1,")]
    [InlineData("not json")]
    [InlineData("{\"version\": 1} trailing")]
    public void Parse_MalformedJson_NotValidJsonWithLine(string json)
    {
        TenantConfigurationException ex = Assert.Throws<TenantConfigurationException>(() => TenantConfiguration.Parse(json, Source));

        Assert.Contains($"'{Source}' is not valid JSON: line 1, position ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, ex.LineNumber);
        Assert.NotNull(ex.InnerException);
    }

    [Theory]
    [InlineData("[]", "an array")]
    [InlineData("42", "a number")]
    [InlineData("null", "null")]
    public void Parse_RootNotAnObject_SaysSo(string json, string kind)
    {
        TenantConfigurationException ex = Assert.Throws<TenantConfigurationException>(() => TenantConfiguration.Parse(json, Source));

        Assert.Contains("is invalid: $: the document must be a JSON object", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("not " + kind, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnsupportedVersion_ValidatesVersionBeforeTheRest()
    {
        // A future version may change the shape: the version error comes first, not a type error.
        string json = """{ "version": 2, "gateways": "a new shape" }""";

        TenantConfigurationException ex = Assert.Throws<TenantConfigurationException>(() => TenantConfiguration.Parse(json, Source));

        Assert.Equal("version", ex.JsonPath);
        Assert.Contains("reads tenant configuration version 1 only", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("acme", true)]
    [InlineData("a", true)]
    [InlineData("acme-corp-2", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("Acme", false)]
    [InlineData("acme.corp", false)]
    [InlineData("acme corp", false)]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true)]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)]
    public void IsValidTenantName_Rule(string? name, bool expected)
    {
        Assert.Equal(expected, TenantConfiguration.IsValidTenantName(name));
    }
}
