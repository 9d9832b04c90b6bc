using System.Net;
using Steer.Tun.Dns;

namespace Steer.Tun.Tests.Dns;

public sealed class DnsConfigurationUnitTests
{
    [Theory]
    [InlineData("corp.example.com", "corp.example.com")]
    [InlineData("Corp.Example.COM.", "corp.example.com")]
    [InlineData("_sip._tcp.example.com", "_sip._tcp.example.com")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("", null)]
    [InlineData(".", null)]
    [InlineData("..", null)]
    [InlineData("../etc", null)]
    [InlineData("a/b", null)]
    [InlineData("-bad.example", null)]
    [InlineData("bad-.example", null)]
    [InlineData("a..b", null)]
    [InlineData("with space.example", null)]
    public void Normalize_AcceptsOnlyDomainNames(string input, string? expected)
    {
        Assert.Equal(expected, DnsConfiguration.Normalize(input));
    }

    [Fact]
    public void Normalize_LabelOver63Characters_IsRejected()
    {
        Assert.Null(DnsConfiguration.Normalize(new string('a', 64) + ".example"));
        Assert.NotNull(DnsConfiguration.Normalize(new string('a', 63) + ".example"));
    }

    [Fact]
    public void Validate_BadMatchDomain_NamesTheMember()
    {
        var configuration = new DnsConfiguration { Servers = [IPAddress.Loopback], MatchDomains = ["../../etc/passwd"] };

        ArgumentException e = Assert.Throws<ArgumentException>(() => configuration.Validate("dns"));

        Assert.Equal("dns.MatchDomains", e.ParamName);
    }

    [Fact]
    public void Validate_NonIpServer_IsRejected()
    {
        var configuration = new DnsConfiguration { Servers = [new IPAddress(0)] };
        configuration.Validate("dns"); // 0.0.0.0 is still IPv4: allowed

        Assert.Throws<ArgumentException>(() => new DnsConfiguration().Validate("dns"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    [InlineData(-53)]
    public void Validate_PortOutOfRange_NamesTheMember(int port)
    {
        var configuration = new DnsConfiguration { Servers = [IPAddress.Loopback], Port = port };

        Assert.Equal("dns.Port", Assert.Throws<ArgumentException>(() => configuration.Validate("dns")).ParamName);
        Assert.Equal(53, new DnsConfiguration().Port);
    }

    [Fact]
    public void Options_Defaults_AreValid()
    {
        new DnsConfiguratorOptions().Validate("o");
    }

    [Fact]
    public void Options_RelativeOrSelfBackup_AreRejected()
    {
        Assert.Equal("o.ResolvConfPath", Assert.Throws<ArgumentException>(() => new DnsConfiguratorOptions { ResolvConfPath = "resolv.conf" }.Validate("o")).ParamName);
        Assert.Equal(
            "o.ResolvConfBackupPath",
            Assert.Throws<ArgumentException>(() => new DnsConfiguratorOptions { ResolvConfPath = "/tmp/r", ResolvConfBackupPath = "/tmp/r" }.Validate("o")).ParamName);
        Assert.Equal("/etc/resolv.conf.steer-backup", new DnsConfiguratorOptions().EffectiveResolvConfBackupPath);
    }

    [Fact]
    public void Create_OnLinux_UsesTheResolvConfFileFromTheOptions()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux chooses the resolv.conf configurator.");
        using var directory = new TempDirectory();
        string path = directory.File("resolv.conf");
        File.WriteAllText(path, "nameserver 192.168.1.1\n");

        using (IDnsConfigurator configurator = DnsConfigurator.Create(new DnsConfiguratorOptions { ResolvConfPath = path }))
        {
            Assert.IsType<LinuxResolvConfConfigurator>(configurator);
            configurator.Apply(new DnsConfiguration { Servers = [IPAddress.Parse("100.64.0.53")] });
            Assert.Contains("nameserver 100.64.0.53", File.ReadAllText(path), StringComparison.Ordinal);
            Assert.True(File.Exists(path + ".steer-backup"));
        }

        Assert.Equal("nameserver 192.168.1.1\n", File.ReadAllText(path));
        Assert.True(DnsConfigurator.IsSupported);
    }
}
