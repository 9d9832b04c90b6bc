using System.Net;
using Steer.Tun.MacOS;

namespace Steer.Tun.Tests.MacOS;

public sealed class DefaultRouteSplitUnitTests
{
    [Fact]
    public void Split_Ipv4Default_GivesTheTwoHalves()
    {
        Assert.Equal([IPNetwork.Parse("0.0.0.0/1"), IPNetwork.Parse("128.0.0.0/1")], DefaultRouteSplit.Split(IPNetwork.Parse("0.0.0.0/0")));
    }

    [Fact]
    public void Split_Ipv6Default_GivesTheTwoHalves()
    {
        Assert.Equal([IPNetwork.Parse("::/1"), IPNetwork.Parse("8000::/1")], DefaultRouteSplit.Split(IPNetwork.Parse("::/0")));
    }

    [Theory]
    [InlineData("10.0.0.0/8")]
    [InlineData("0.0.0.0/1")]
    [InlineData("198.18.2.7/32")]
    [InlineData("fd00::/8")]
    public void Split_AnythingMoreSpecific_IsLeftAlone(string prefix)
    {
        IPNetwork network = IPNetwork.Parse(prefix);
        Assert.Equal([network], DefaultRouteSplit.Split(network));
    }

    [Theory]
    [InlineData("0.0.0.0/0")]
    [InlineData("::/0")]
    public void Split_Halves_CoverTheWholeSpaceWithoutOverlap(string prefix)
    {
        IReadOnlyList<IPNetwork> halves = DefaultRouteSplit.Split(IPNetwork.Parse(prefix));
        Assert.Equal(2, halves.Count);
        Assert.All(halves, h => Assert.Equal(1, h.PrefixLength));
        byte[] low = halves[0].BaseAddress.GetAddressBytes();
        byte[] high = halves[1].BaseAddress.GetAddressBytes();
        Assert.Equal(0x00, low[0]);
        Assert.Equal(0x80, high[0]);
        Assert.All(low.Skip(1).Concat(high.Skip(1)), b => Assert.Equal(0, b));
    }
}
