using System.Net;
using Microsoft.Extensions.Logging;
using Steer.Tun.Dns;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// The systemd-resolved configurator against <see cref="RawDBusPeer"/>, a fake bus that records the bytes on the wire:
/// each call's header (destination, path, interface, member, NO_AUTO_START) and its signature and body, compared with
/// bytes written by hand from the D-Bus specification's marshalling rules (little-endian; int32, uint32 and the length
/// of strings and arrays aligned to 4, structs and arrays of structs to 8, arrays prefixed by their byte length without
/// the padding before the first element; strings end in NUL; booleans are uint32 0 or 1; ay holds raw bytes).
/// No dbus-daemon and no systemd-resolved are involved, so these always run.
/// </summary>
public sealed class SystemdResolvedConfiguratorUnitTests : IDisposable
{
    private const int Index = 7;

    private readonly TempDirectory _directory = new();
    private readonly RecordingLogger _logger = new();
    private readonly RawDBusPeer _peer;

    public SystemdResolvedConfiguratorUnitTests()
    {
        _peer = new RawDBusPeer(_directory.File("bus"));
    }

    public void Dispose()
    {
        _peer.Dispose();
        _directory.Dispose();
    }

    private static DnsConfiguration EveryName => new()
    {
        Servers = [IPAddress.Parse("100.80.0.2"), IPAddress.Parse("fd00:53::1")],
        InterfaceIndex = Index,
        InterfaceName = "steer0",
    };

    private SystemdResolvedConfigurator Create(TimeSpan? timeout = null) => new(_peer.Address, timeout ?? TimeSpan.FromSeconds(10), _logger);

    private static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(c => !char.IsWhiteSpace(c))));

    [Fact]
    public void Apply_EveryName_SendsTheCallsInOrderToResolvedsManagerWithoutAutoStart()
    {
        using (SystemdResolvedConfigurator configurator = Create())
        {
            Assert.Equal(DnsBackend.SystemdResolved, configurator.Backend);
            configurator.Apply(EveryName);
        }

        Assert.Equal(
            ["SetLinkDNS", "SetLinkDomains", "SetLinkDefaultRoute", "SetLinkLLMNR", "SetLinkMulticastDNS", "SetLinkDNSSEC", "SetLinkDNSOverTLS", "RevertLink"],
            _peer.Calls.Select(c => c.Member));
        foreach (RawDBusCall call in _peer.Calls)
        {
            Assert.Equal("org.freedesktop.resolve1", call.Destination);
            Assert.Equal("/org/freedesktop/resolve1", call.Path);
            Assert.Equal("org.freedesktop.resolve1.Manager", call.Interface);
            Assert.Equal(0x02, call.Flags & 0x02); // NO_AUTO_START: never make the bus start resolved
        }

        Assert.Contains(_logger.Entries, e => e.Id.Id == 300 && e.Message.Contains("link #7 (steer0) (every name)", StringComparison.Ordinal));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 301);
    }

    [Fact]
    public void SetLinkDns_IPv4AndIPv6_BodyIsTheSpecsEncodingOfIaOfStructIay()
    {
        using SystemdResolvedConfigurator configurator = Create();
        configurator.Apply(EveryName);

        RawDBusCall call = _peer.Single("SetLinkDNS");
        Assert.Equal("ia(iay)", call.Signature);
        Assert.Equal(
            Hex("""
                07000000
                28000000
                02000000 04000000 64500002
                00000000
                0a000000 10000000 fd000053000000000000000000000001
                """),
            call.Body);
    }

    [Fact]
    public void SetLinkDnsEx_WhenThePortIsNot53_CarriesThePortAndAnEmptyServerName()
    {
        using SystemdResolvedConfigurator configurator = Create();
        configurator.Apply(new DnsConfiguration { Servers = [IPAddress.Parse("100.80.0.2")], Port = 5353, InterfaceIndex = Index });

        Assert.DoesNotContain(_peer.Calls, c => c.Member == "SetLinkDNS");
        RawDBusCall call = _peer.Single("SetLinkDNSEx");
        Assert.Equal("ia(iayqs)", call.Signature);
        Assert.Equal(
            Hex("""
                07000000
                15000000
                02000000 04000000 64500002
                e914 0000
                00000000 00
                """),
            call.Body);
    }

    [Fact]
    public void SetLinkDomains_EveryName_IsTheRoutingOnlyRootDomainAndDefaultRouteOn()
    {
        using SystemdResolvedConfigurator configurator = Create();
        configurator.Apply(EveryName);

        RawDBusCall domains = _peer.Single("SetLinkDomains");
        Assert.Equal("ia(sb)", domains.Signature);
        Assert.Equal(Hex("07000000 0c000000 01000000 2e00 0000 01000000"), domains.Body); // [(".", true)], not resolvectl's "~."
        RawDBusCall route = _peer.Single("SetLinkDefaultRoute");
        Assert.Equal("ib", route.Signature);
        Assert.Equal(Hex("07000000 01000000"), route.Body);
    }

    [Fact]
    public void SetLinkDomains_SplitDns_ListsMatchDomainsRoutingOnlyThenSearchDomainsAndDefaultRouteOff()
    {
        using SystemdResolvedConfigurator configurator = Create();
        configurator.Apply(new DnsConfiguration
        {
            Servers = [IPAddress.Parse("100.80.0.2")],
            MatchDomains = ["Corp.Example.com.", "example.net"],
            SearchDomains = ["example.net"],
            InterfaceIndex = Index,
        });

        Assert.Equal(
            Hex("""
                07000000
                34000000
                10000000 636f72702e6578616d706c652e636f6d 00 000000 01000000
                00000000
                0b000000 6578616d706c652e6e6574 00 00000000
                """),
            _peer.Single("SetLinkDomains").Body);
        Assert.Equal(Hex("07000000 00000000"), _peer.Single("SetLinkDefaultRoute").Body);
        Assert.Contains(_logger.Entries, e => e.Id.Id == 300 && e.Message.Contains("names in corp.example.com", StringComparison.Ordinal));
    }

    [Fact]
    public void ModeSettingsAndRevertLink_AreIsWithNoAndI()
    {
        var configurator = Create();
        configurator.Apply(EveryName);
        configurator.Dispose();

        foreach (string member in new[] { "SetLinkLLMNR", "SetLinkMulticastDNS", "SetLinkDNSSEC", "SetLinkDNSOverTLS" })
        {
            RawDBusCall call = _peer.Single(member);
            Assert.Equal("is", call.Signature);
            Assert.Equal(Hex("07000000 02000000 6e6f00"), call.Body);
        }

        RawDBusCall revert = _peer.Single("RevertLink");
        Assert.Equal("i", revert.Signature);
        Assert.Equal(Hex("07000000"), revert.Body);
    }

    [Fact]
    public void ProbeResolved_AsksNameHasOwnerThenTheOwnersPid()
    {
        _peer.Respond = call => call.Member switch
        {
            "NameHasOwner" => RawDBusReply.Bool(true),
            "GetConnectionUnixProcessID" => RawDBusReply.UInt32((uint)Environment.ProcessId),
            _ => RawDBusReply.Empty,
        };

        Assert.Equal(DnsConfigurator.ResolvedPresence.Here, DnsConfigurator.ProbeResolved(new DnsConfiguratorOptions { SystemBusAddress = _peer.Address }));

        RawDBusCall call = _peer.Single("NameHasOwner");
        Assert.Equal(("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "s"), (call.Destination, call.Path, call.Interface, call.Signature));
        Assert.Equal(0, call.Flags & 0x02);
        Assert.Equal(Hex("18000000 6f72672e667265656465736b746f702e7265736f6c766531 00"), call.Body);
        RawDBusCall pid = _peer.Single("GetConnectionUnixProcessID");
        Assert.Equal(("org.freedesktop.DBus", "s"), (pid.Destination, pid.Signature));
        Assert.Equal(call.Body, pid.Body);
    }

    [Fact]
    public void ProbeResolved_NoOwner_IsAbsentWithoutAskingForThePid()
    {
        _peer.Respond = call => call.Member == "NameHasOwner" ? RawDBusReply.Bool(false) : RawDBusReply.Empty;

        Assert.Equal(DnsConfigurator.ResolvedPresence.Absent, DnsConfigurator.ProbeResolved(new DnsConfiguratorOptions { SystemBusAddress = _peer.Address }));
        Assert.DoesNotContain(_peer.Calls, c => c.Member == "GetConnectionUnixProcessID");
    }

    [Fact]
    public void ProbeResolved_PidUnknown_TrustsTheOwner()
    {
        _peer.Respond = call => call.Member == "NameHasOwner"
            ? RawDBusReply.Bool(true)
            : RawDBusReply.Error("org.freedesktop.DBus.Error.UnixProcessIdUnknown", "no pid");

        Assert.Equal(DnsConfigurator.ResolvedPresence.Here, DnsConfigurator.ProbeResolved(new DnsConfiguratorOptions { SystemBusAddress = _peer.Address }));
    }

    [Fact]
    public void ProbeResolved_BusMissing_IsAbsent()
    {
        Assert.Equal(
            DnsConfigurator.ResolvedPresence.Absent,
            DnsConfigurator.ProbeResolved(new DnsConfiguratorOptions { SystemBusAddress = "unix:path=" + _directory.File("no-bus") }));
    }

    [Fact]
    public void Apply_AccessDenied_ThrowsPermissionDeniedAndRevertsTheLink()
    {
        _peer.Respond = call => call.Member == "SetLinkDNS"
            ? RawDBusReply.Error("org.freedesktop.DBus.Error.AccessDenied", "Access denied")
            : RawDBusReply.Empty;
        using SystemdResolvedConfigurator configurator = Create();

        TunException e = Assert.Throws<TunException>(() => configurator.Apply(EveryName));

        Assert.True(e.IsPermissionDenied);
        Assert.Contains("org.freedesktop.DBus.Error.AccessDenied", e.Message, StringComparison.Ordinal);
        Assert.Contains("root", e.Message, StringComparison.Ordinal);
        Assert.Equal(["SetLinkDNS", "RevertLink"], _peer.Calls.Select(c => c.Member));
    }

    [Fact]
    public void Apply_DomainsRefused_RevertsTheHalfConfiguredLinkAndThrows()
    {
        _peer.Respond = call => call.Member == "SetLinkDomains"
            ? RawDBusReply.Error("org.freedesktop.DBus.Error.InvalidArgs", "Invalid search domain")
            : RawDBusReply.Empty;
        using SystemdResolvedConfigurator configurator = Create();

        TunException e = Assert.Throws<TunException>(() => configurator.Apply(EveryName));

        Assert.False(e.IsPermissionDenied);
        Assert.Equal(["SetLinkDNS", "SetLinkDomains", "RevertLink"], _peer.Calls.Select(c => c.Member));
    }

    [Fact]
    public void Apply_BestEffortSettingRefused_WarnsAndKeepsTheRest()
    {
        _peer.Respond = call => call.Member is "SetLinkDNSSEC" or "SetLinkDefaultRoute"
            ? RawDBusReply.Error(call.Member == "SetLinkDNSSEC" ? "org.freedesktop.DBus.Error.InvalidArgs" : "org.freedesktop.DBus.Error.UnknownMethod", "no")
            : RawDBusReply.Empty;
        using SystemdResolvedConfigurator configurator = Create();

        configurator.Apply(EveryName);

        Assert.DoesNotContain(_peer.Calls, c => c.Member == "RevertLink");
        Assert.Equal(2, _logger.Entries.Count(e => e.Id.Id == 307 && e.Level == LogLevel.Warning));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 307 && e.Message.Contains("SetLinkDNSSEC", StringComparison.Ordinal));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 300);
    }

    [Fact]
    public void Apply_LinkManagedByNetworkd_SaysSo()
    {
        _peer.Respond = _ => RawDBusReply.Error("org.freedesktop.resolve1.LinkBusy", "Link steer0 is managed.");
        using SystemdResolvedConfigurator configurator = Create();

        TunException e = Assert.Throws<TunException>(() => configurator.Apply(EveryName));

        Assert.Contains("systemd-networkd", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_NoAnswer_TimesOutWithATunException()
    {
        _peer.Respond = _ => RawDBusReply.None;
        using SystemdResolvedConfigurator configurator = Create(TimeSpan.FromMilliseconds(500));

        TunException e = Assert.Throws<TunException>(() => configurator.Apply(EveryName));

        Assert.IsType<TimeoutException>(e.InnerException);
        Assert.Contains("no answer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_BusMissing_ThrowsATunExceptionNamingTheBus()
    {
        string address = "unix:path=" + _directory.File("no-bus");
        using var configurator = new SystemdResolvedConfigurator(address, TimeSpan.FromSeconds(5), _logger);

        TunException e = Assert.Throws<TunException>(() => configurator.Apply(EveryName));

        Assert.Contains(address, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_LoopbackServerOrNoInterface_IsRejectedBeforeAnythingIsSent()
    {
        using SystemdResolvedConfigurator configurator = Create();

        ArgumentException loopback = Assert.Throws<ArgumentException>(
            () => configurator.Apply(new DnsConfiguration { Servers = [IPAddress.Parse("127.53.0.1")], InterfaceIndex = Index }));
        Assert.Equal("configuration.Servers", loopback.ParamName);
        Assert.Contains("out of the tunnel interface", loopback.Message, StringComparison.Ordinal);
        Assert.Equal(
            "configuration.InterfaceIndex",
            Assert.Throws<ArgumentException>(() => configurator.Apply(new DnsConfiguration { Servers = [IPAddress.Parse("100.80.0.2")] })).ParamName);
        Assert.Empty(_peer.Calls);
    }

    [Fact]
    public void Apply_OnAnotherInterface_RevertsThePreviousLinkFirst()
    {
        var configurator = Create();
        configurator.Apply(EveryName);
        configurator.Apply(new DnsConfiguration { Servers = [IPAddress.Parse("100.80.0.2")], InterfaceIndex = 9 });
        configurator.Dispose();

        RawDBusCall[] reverts = _peer.Calls.Where(c => c.Member == "RevertLink").ToArray();
        Assert.Equal([Hex("07000000"), Hex("09000000")], reverts.Select(c => c.Body));
        int firstRevert = _peer.Calls.ToList().FindIndex(c => c.Member == "RevertLink");
        Assert.Equal("SetLinkDNS", _peer.Calls[firstRevert + 1].Member); // link 7 reverted before link 9 is set
    }

    [Fact]
    public void Dispose_LinkAlreadyGone_IsNotAFailure()
    {
        var configurator = Create();
        configurator.Apply(EveryName);
        _peer.Respond = call => call.Member == "RevertLink" ? RawDBusReply.Error("org.freedesktop.resolve1.NoSuchLink", "Link 7 not known") : RawDBusReply.Empty;

        configurator.Dispose();
        configurator.Dispose();

        Assert.Contains(_logger.Entries, e => e.Id.Id == 301 && e.Message.Contains("link is gone", StringComparison.Ordinal));
        Assert.DoesNotContain(_logger.Entries, e => e.Id.Id == 303);
        Assert.Single(_peer.Calls, c => c.Member == "RevertLink");
        Assert.Throws<ObjectDisposedException>(() => configurator.Apply(EveryName));
    }

    [Fact]
    public void Dispose_WithoutApply_SendsNothing()
    {
        Create().Dispose();

        Assert.Empty(_peer.Calls);
    }

    [Fact]
    public void LinkDomains_AreBareNamesWithTheRoutingFlag()
    {
        Assert.Equal([(".", true)], ResolvedBus.LinkDomains(new DnsConfiguration { Servers = [IPAddress.Loopback] }));
        Assert.Equal(
            [(".", true), ("corp.example.com", false)],
            ResolvedBus.LinkDomains(new DnsConfiguration { Servers = [IPAddress.Loopback], SearchDomains = ["corp.example.com."] }));
        Assert.Equal(
            [("a.example", true), ("b.example", false)],
            ResolvedBus.LinkDomains(new DnsConfiguration { Servers = [IPAddress.Loopback], MatchDomains = ["A.example", "b.example", "a.example."], SearchDomains = ["b.example"] }));
    }
}
