using Steer.Configuration;

namespace Steer.Core.Tests.Configuration;

public class GatewayPriorityTests
{
    [Fact]
    public void Priority_defaults_to_zero_and_is_read_when_given()
    {
        Assert.Equal(0, TenantConfiguration.Parse(TestDocuments.Minimal(), "test").Gateways[0].Priority);
        Assert.Equal(7, TenantConfiguration.Parse(TestDocuments.With("gateways/0/priority", "7"), "test").Gateways[0].Priority);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1001")]
    public void Priority_out_of_range_names_the_field(string value)
    {
        var error = Assert.Throws<TenantConfigurationException>(() => TenantConfiguration.Parse(TestDocuments.With("gateways/0/priority", value), "test"));
        Assert.Equal("gateways[0].priority", error.JsonPath);
        Assert.Contains("0 to 1000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Priority_survives_a_json_round_trip()
    {
        TenantConfiguration config = TenantConfiguration.Parse(TestDocuments.With("gateways/0/priority", "3"), "test");
        Assert.Equal(3, TenantConfiguration.Parse(config.ToJson(), "round trip").Gateways[0].Priority);
    }
}
