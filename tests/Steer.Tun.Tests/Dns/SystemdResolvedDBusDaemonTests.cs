using System.Net;
using Steer.Tun.Dns;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// End to end through a real dbus-daemon started by the test (a private bus, not the system bus) and a fake
/// <c>org.freedesktop.resolve1</c> that records the calls: the detection asks the daemon NameHasOwner, and Apply and
/// Dispose send the right calls in the right order, RevertLink last. systemd-resolved itself is never started or
/// touched, and the host's DNS configuration is not read or changed (resolv.conf is a link in a temporary directory).
/// </summary>
public sealed class SystemdResolvedDBusDaemonTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly RecordingLogger _logger = new();
    private readonly PrivateDBusBus _bus;
    private readonly DnsConfiguratorOptions _options;

    public SystemdResolvedDBusDaemonTests()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "systemd-resolved is a Linux backend.");
        string? daemon = PrivateDBusBus.FindDaemon();
        Elevation.Require(daemon is not null, "dbus-daemon is not installed (Debian package dbus-daemon, which scripts/install-deps.sh installs).");
        _bus = PrivateDBusBus.Start(daemon!, _directory.Path);
        string resolvConf = _directory.File("resolv.conf");
        File.CreateSymbolicLink(resolvConf, "/run/systemd/resolve/stub-resolv.conf");
        _options = new DnsConfiguratorOptions
        {
            ResolvConfPath = resolvConf,
            ResolvedUpstreamPath = _directory.File("upstream-resolv.conf"),
            SystemBusAddress = _bus.Address,
        };
    }

    public void Dispose()
    {
        _bus?.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task Auto_ChoosesResolvedOnceResolve1HasAnOwner_AndApplyThenDisposeSendTheCallsInOrder()
    {
        Assert.Equal(DnsBackend.ResolvConf, DnsConfigurator.DetectBackend(_options)); // the name has no owner yet

        using FakeResolvedService resolved = await FakeResolvedService.StartAsync(_bus.Address);
        Assert.Equal(DnsBackend.SystemdResolved, DnsConfigurator.DetectBackend(_options));

        using (IDnsConfigurator configurator = DnsConfigurator.Create(_options, _logger))
        {
            Assert.Equal(DnsBackend.SystemdResolved, configurator.Backend);
            configurator.Apply(new DnsConfiguration
            {
                Servers = [IPAddress.Parse("100.80.0.2")],
                SearchDomains = ["corp.example.com"],
                InterfaceIndex = 7,
                InterfaceName = "steer0",
            });
            Assert.DoesNotContain(resolved.Calls, c => c.StartsWith("RevertLink", StringComparison.Ordinal));
        }

        Assert.Equal(
            [
                "SetLinkDNS(7, [2 100.80.0.2])",
                "SetLinkDomains(7, [(., True), (corp.example.com, False)])",
                "SetLinkDefaultRoute(7, True)",
                "SetLinkLLMNR(7, no)",
                "SetLinkMulticastDNS(7, no)",
                "SetLinkDNSSEC(7, no)",
                "SetLinkDNSOverTLS(7, no)",
                "RevertLink(7)",
            ],
            resolved.Calls);
        Assert.Equal("/run/systemd/resolve/stub-resolv.conf", new FileInfo(_options.ResolvConfPath).LinkTarget); // nothing on disk changed
        Assert.Contains(_logger.Entries, e => e.Id.Id == 306 && e.Message.Contains("org.freedesktop.resolve1 is on the system bus", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SplitDnsOnAnotherPort_UsesSetLinkDnsExRoutingDomainsAndNoDefaultRoute()
    {
        using FakeResolvedService resolved = await FakeResolvedService.StartAsync(_bus.Address);
        using (IDnsConfigurator configurator = DnsConfigurator.Create(_options, _logger))
        {
            configurator.Apply(new DnsConfiguration
            {
                Servers = [IPAddress.Parse("100.80.0.2"), IPAddress.Parse("fd00:53::2")],
                Port = 5353,
                MatchDomains = ["corp.example.com", "Intra.Example."],
                InterfaceIndex = 12,
            });
        }

        Assert.Equal(
            [
                "SetLinkDNSEx(12, [2 100.80.0.2 port 5353 name '', 10 fd00:53::2 port 5353 name ''])",
                "SetLinkDomains(12, [(corp.example.com, True), (intra.example, True)])",
                "SetLinkDefaultRoute(12, False)",
            ],
            resolved.Calls.Take(3));
        Assert.Equal("RevertLink(12)", resolved.Calls[^1]);
    }

    [Fact]
    public async Task Refused_ThrowsPermissionDenied_AndALinkThatVanishedIsNotAFailureOnDispose()
    {
        using FakeResolvedService resolved = await FakeResolvedService.StartAsync(_bus.Address);
        resolved.Refuse = member => member == "SetLinkDNS" ? ("org.freedesktop.DBus.Error.AccessDenied", "Access denied") : null;
        var options = new DnsConfiguratorOptions { Backend = DnsBackend.SystemdResolved, SystemBusAddress = _bus.Address };
        using (IDnsConfigurator configurator = DnsConfigurator.Create(options, _logger))
        {
            TunException e = Assert.Throws<TunException>(() => configurator.Apply(new DnsConfiguration { Servers = [IPAddress.Parse("100.80.0.2")], InterfaceIndex = 3 }));
            Assert.True(e.IsPermissionDenied);
        }

        Assert.Equal(["SetLinkDNS(3, [2 100.80.0.2])", "RevertLink(3)", "RevertLink(3)"], resolved.Calls); // reverted on failure, and again by Dispose

        resolved.Refuse = member => member == "RevertLink" ? ("org.freedesktop.resolve1.NoSuchLink", "Link 3 not known") : null;
        var logger = new RecordingLogger();
        using (IDnsConfigurator configurator = DnsConfigurator.Create(options, logger))
        {
            configurator.Apply(new DnsConfiguration { Servers = [IPAddress.Parse("100.80.0.2")], InterfaceIndex = 3 });
        }

        Assert.DoesNotContain(logger.Entries, e => e.Id.Id == 303);
        Assert.Contains(logger.Entries, e => e.Id.Id == 301 && e.Message.Contains("link is gone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResolvedGoneFromTheBus_ApplyFailsWithoutStartingIt()
    {
        FakeResolvedService resolved = await FakeResolvedService.StartAsync(_bus.Address);
        Assert.Equal(DnsBackend.SystemdResolved, DnsConfigurator.DetectBackend(_options));
        resolved.Dispose();

        // The bus releases the name once it has seen the connection close.
        for (int i = 0; i < 50 && DnsConfigurator.DetectBackend(_options) != DnsBackend.ResolvConf; i++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        using IDnsConfigurator configurator = DnsConfigurator.Create(_options, _logger);
        Assert.Equal(DnsBackend.ResolvConf, configurator.Backend); // detection sees the name without owner again
        using var forced = DnsConfigurator.Create(new DnsConfiguratorOptions { Backend = DnsBackend.SystemdResolved, SystemBusAddress = _bus.Address }, _logger);
        TunException e = Assert.Throws<TunException>(() => forced.Apply(new DnsConfiguration { Servers = [IPAddress.Parse("100.80.0.2")], InterfaceIndex = 3 }));
        Assert.Contains("org.freedesktop.DBus.Error.NameHasNoOwner", e.Message, StringComparison.Ordinal); // NO_AUTO_START: the bus did not try to start it
        Assert.Contains("not running", e.Message, StringComparison.Ordinal);
    }
}
