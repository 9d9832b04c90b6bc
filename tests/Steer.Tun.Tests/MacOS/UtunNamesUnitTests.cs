using Steer.Tun.MacOS;

namespace Steer.Tun.Tests.MacOS;

public sealed class UtunNamesUnitTests
{
    [Theory]
    [InlineData("utun%d", 0u, true)]
    [InlineData("utun0", 1u, true)]
    [InlineData("utun7", 8u, true)]
    [InlineData("utun42", 43u, true)]
    [InlineData("steer%d", 0u, false)]
    [InlineData("steer0", 0u, false)]
    [InlineData("utun", 0u, false)]
    [InlineData("utun07", 0u, false)]
    [InlineData("utunx", 0u, false)]
    [InlineData("utun4294967295", 0u, false)]
    public void UnitFor_MapsUtunNToUnitNPlusOne(string name, uint expectedUnit, bool expectedHonoured)
    {
        uint unit = UtunNames.UnitFor(name, out bool honoured);
        Assert.Equal(expectedUnit, unit);
        Assert.Equal(expectedHonoured, honoured);
    }
}
