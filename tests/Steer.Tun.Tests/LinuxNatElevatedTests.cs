using System.Net;
using System.Runtime.Versioning;
using Steer.Tun.Linux;

namespace Steer.Tun.Tests;

[Collection(HostNetworkCollection.Name)]
[Trait("Category", "RequiresElevation")]
[SupportedOSPlatform("linux")] // every test skips first when not on Linux
public sealed class LinuxNatElevatedTests
{
    [Fact(Timeout = 30_000)]
    public void Enable_InstallsTable_DisposeRemovesItAndRestoresForwarding()
    {
        Elevation.RequireNat();
        string name = "t" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));
        string table = "steer_" + name;
        string oldForward4 = File.ReadAllText(LinuxSysctl.Ipv4Forward).Trim();
        string oldForward6 = File.ReadAllText(LinuxSysctl.Ipv6ForwardAll).Trim();
        LinuxNat? nat = null;
        try
        {
            nat = LinuxNat.Enable(name, "steert0", [IPNetwork.Parse("198.18.250.0/24"), IPNetwork.Parse("fd53:7ee7:250::/64")]);

            Assert.Equal(table, nat.TableName);
            (int exitCode, string listing) = HostCommands.Run("nft", "list", "table", "inet", table);
            Assert.True(exitCode == 0, listing);
            Assert.Contains("ip saddr 198.18.250.0/24 masquerade", listing, StringComparison.Ordinal);
            Assert.Contains("ip6 saddr fd53:7ee7:250::/64 masquerade", listing, StringComparison.Ordinal);
            Assert.Contains("tcp option maxseg size set rt mtu", listing, StringComparison.Ordinal);
            Assert.Equal("1", File.ReadAllText(LinuxSysctl.Ipv4Forward).Trim());
            Assert.Equal("1", File.ReadAllText(LinuxSysctl.Ipv6ForwardAll).Trim());

            nat.Dispose();
            nat = null;

            Assert.NotEqual(0, HostCommands.Run("nft", "list", "table", "inet", table).ExitCode);
            Assert.Equal(oldForward4, File.ReadAllText(LinuxSysctl.Ipv4Forward).Trim());
            Assert.Equal(oldForward6, File.ReadAllText(LinuxSysctl.Ipv6ForwardAll).Trim());
        }
        finally
        {
            nat?.Dispose();
            HostCommands.Run("nft", "delete", "table", "inet", table);
            File.WriteAllText(LinuxSysctl.Ipv4Forward, oldForward4 + "\n");
            File.WriteAllText(LinuxSysctl.Ipv6ForwardAll, oldForward6 + "\n");
        }
    }

    [Fact(Timeout = 30_000)]
    public void Enable_Twice_ReplacesTheStaleTable()
    {
        Elevation.RequireNat();
        string name = "t" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));
        string oldForward4 = File.ReadAllText(LinuxSysctl.Ipv4Forward).Trim();
        try
        {
            using LinuxNat first = LinuxNat.Enable(name, "steert0", [IPNetwork.Parse("198.18.250.0/24")]);
            using LinuxNat second = LinuxNat.Enable(name, "steert1", [IPNetwork.Parse("198.18.250.0/24")]);

            string listing = HostCommands.Run("nft", "list", "table", "inet", second.TableName).Output;
            Assert.Contains("\"steert1\"", listing, StringComparison.Ordinal);
            Assert.DoesNotContain("\"steert0\"", listing, StringComparison.Ordinal);
        }
        finally
        {
            HostCommands.Run("nft", "delete", "table", "inet", "steer_" + name);
            File.WriteAllText(LinuxSysctl.Ipv4Forward, oldForward4 + "\n");
        }
    }

    [Theory]
    [InlineData("bad-name", "steer0")]
    [InlineData("", "steer0")]
    [InlineData("gw", "bad name\"")]
    [InlineData("gw", "a234567890123456")]
    public void Enable_InvalidNames_ThrowArgumentException(string name, string tun)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "NAT is only implemented on Linux.");
        Assert.Throws<ArgumentException>(() => LinuxNat.Enable(name, tun, [IPNetwork.Parse("198.18.250.0/24")]));
    }

    [Fact]
    public void Enable_NoPools_ThrowsArgumentException()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "NAT is only implemented on Linux.");
        Assert.Throws<ArgumentException>(() => LinuxNat.Enable("gw", "steer0", []));
    }
}
