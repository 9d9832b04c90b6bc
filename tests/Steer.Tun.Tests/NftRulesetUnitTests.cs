using System.Net;
using Steer.Tun.Linux;

namespace Steer.Tun.Tests;

public sealed class NftRulesetUnitTests
{
    [Fact]
    public void BuildEnable_DualStackPools_ReplacesTableAtomicallyWithForwardMssAndMasquerade()
    {
        string text = NftRuleset.BuildEnable(
            "steer_gw",
            "steer0",
            [IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("fd53:7ee7::/48")]);

        const string Expected =
            "add table inet steer_gw\n"
            + "delete table inet steer_gw\n"
            + "table inet steer_gw {\n"
            + "\tchain forward {\n"
            + "\t\ttype filter hook forward priority filter; policy accept;\n"
            + "\t\tiifname \"steer0\" tcp flags syn tcp option maxseg size set rt mtu\n"
            + "\t\toifname \"steer0\" tcp flags syn tcp option maxseg size set rt mtu\n"
            + "\t\tiifname \"steer0\" ip saddr { 100.64.0.0/10, 198.18.0.0/15 } accept\n"
            + "\t\toifname \"steer0\" ip daddr { 100.64.0.0/10, 198.18.0.0/15 } ct state established,related accept\n"
            + "\t\tiifname \"steer0\" ip6 saddr { fd53:7ee7::/48 } accept\n"
            + "\t\toifname \"steer0\" ip6 daddr { fd53:7ee7::/48 } ct state established,related accept\n"
            + "\t}\n"
            + "\tchain postrouting {\n"
            + "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
            + "\t\toifname != \"steer0\" ip saddr { 100.64.0.0/10, 198.18.0.0/15 } masquerade\n"
            + "\t\toifname != \"steer0\" ip6 saddr { fd53:7ee7::/48 } masquerade\n"
            + "\t}\n"
            + "}\n";
        Assert.Equal(Expected, text);
    }

    [Fact]
    public void BuildEnable_Ipv4Only_HasNoIp6Rules()
    {
        string text = NftRuleset.BuildEnable("steer_x", "tun9", [IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("100.64.0.0/10")]);

        Assert.DoesNotContain("ip6", text, StringComparison.Ordinal);
        Assert.Contains("\t\toifname != \"tun9\" ip saddr { 100.64.0.0/10 } masquerade\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildEnable_WithTunnelMtu_ClampsClientSynsToTheTunnelPerFamily()
    {
        string text = NftRuleset.BuildEnable("steer_x", "tun9", [IPNetwork.Parse("100.64.0.0/24"), IPNetwork.Parse("fd00::/64")], 1400);

        Assert.Contains("\t\tiifname \"tun9\" meta nfproto ipv4 tcp flags syn tcp option maxseg size > 1360 tcp option maxseg size set 1360\n", text, StringComparison.Ordinal);
        Assert.Contains("\t\tiifname \"tun9\" meta nfproto ipv6 tcp flags syn tcp option maxseg size > 1340 tcp option maxseg size set 1340\n", text, StringComparison.Ordinal);
        Assert.Contains("\t\toifname \"tun9\" tcp flags syn tcp option maxseg size set rt mtu\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("iifname \"tun9\" tcp flags syn tcp option maxseg size set rt mtu", text, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildDisable_DeletesTheTable()
    {
        Assert.Equal("delete table inet steer_gw\n", NftRuleset.BuildDisable("steer_gw"));
        Assert.Equal("steer_gw", NftRuleset.TableName("gw"));
    }
}
