using System.Net;
using Microsoft.Extensions.Logging;
using Steer.Tun.Dns;
using static Steer.Tun.MacOS.Interop.SystemConfigurationStatus;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// What Steer writes into the macOS SystemConfiguration dynamic store (<see cref="MacOSDnsStorePlan"/>) and how it
/// writes, updates and removes it (<see cref="MacOSDynamicStoreEntry"/>), against a fake configd. Runs on any OS; the
/// native session (MacOSDynamicStore) is only compiled.
/// </summary>
public sealed class MacOSDynamicStoreUnitTests
{
    private const string Key = MacOSDnsStorePlan.DnsKey;
    private readonly MacOSFakeConfigd _configd = new();
    private readonly RecordingLogger _logger = new();

    private static DnsConfiguration EveryName => new()
    {
        Servers = [IPAddress.Parse("127.53.0.1"), IPAddress.Parse("fd00:53::1")],
        InterfaceName = "utun4",
        InterfaceIndex = 12,
    };

    private static MacOSStoreValue Strings(params string[] values) => MacOSStoreValue.Strings(values);

    [Fact]
    public void Key_IsTheDnsEntityOfSteersOwnServiceInTheStateDomain()
    {
        Assert.True(Guid.TryParseExact(MacOSDnsStorePlan.ServiceId, "D", out _));
        Assert.Equal(MacOSDnsStorePlan.ServiceId, MacOSDnsStorePlan.ServiceId.ToUpperInvariant()); // the form SystemConfiguration uses
        Assert.Equal("State:/Network/Service/" + MacOSDnsStorePlan.ServiceId + "/DNS", Key);
    }

    [Fact]
    public void PropertyNames_AreTheSchemaStrings()
    {
        // SCSchemaDefinitions.h: kSCPropNetDNSServerAddresses etc. are these strings.
        Assert.Equal("ServerAddresses", MacOSDnsStorePlan.ServerAddresses);
        Assert.Equal("SupplementalMatchDomains", MacOSDnsStorePlan.SupplementalMatchDomains);
        Assert.Equal("SearchDomains", MacOSDnsStorePlan.SearchDomains);
        Assert.Equal("SearchOrder", MacOSDnsStorePlan.SearchOrder);
        Assert.Equal("ServerPort", MacOSDnsStorePlan.ServerPort);
        Assert.Empty(MacOSDnsStorePlan.EveryNameMatchDomain);
    }

    [Fact]
    public void SearchOrder_IsAheadOfTheDefaultResolver()
    {
        // dnsinfo.h: DEFAULT_SEARCH_ORDER 200000; IPMonitor gives supplemental resolvers 100000 + 200·i.
        Assert.Equal(200000, MacOSDnsStorePlan.DefaultSearchOrder);
        Assert.Equal(100000, MacOSDnsStorePlan.SteerSearchOrder);
    }

    [Fact]
    public void StoreEntry_EveryName_IsTheServersWithTheEmptyMatchDomain()
    {
        MacOSStoreDictionary? entry = MacOSDnsStorePlan.StoreEntry(EveryName);

        MacOSStoreDictionary expected = new MacOSStoreDictionary()
            .Set("ServerAddresses", Strings("127.53.0.1", "fd00:53::1"))
            .Set("SupplementalMatchDomains", Strings(string.Empty))
            .Set("SearchOrder", MacOSStoreValue.Number(100000));
        Assert.Equal(expected, entry);
        Assert.Equal("{ SearchOrder = #100000; ServerAddresses = [\"127.53.0.1\", \"fd00:53::1\"]; SupplementalMatchDomains = [\"\"]; }", entry!.ToString());
    }

    [Fact]
    public void StoreEntry_EveryNameWithSearchDomains_ListsThemAsMatchDomainsToo()
    {
        DnsConfiguration configuration = EveryName;
        configuration.SearchDomains = ["Corp.Example.COM.", "example.net", "corp.example.com"];

        MacOSStoreDictionary entry = MacOSDnsStorePlan.StoreEntry(configuration)!;

        // IPMonitor drops SearchDomains of a service without addresses but appends supplemental match domains to the
        // search list, so the search domains are match domains as well (normalized, without duplicates).
        Assert.Equal(Strings(string.Empty, "corp.example.com", "example.net"), entry["SupplementalMatchDomains"]);
        Assert.Equal(Strings("corp.example.com", "example.net"), entry["SearchDomains"]);
    }

    [Fact]
    public void StoreEntry_SplitWithoutSearchDomains_IsNone()
    {
        Assert.Null(MacOSDnsStorePlan.StoreEntry(new DnsConfiguration { Servers = [IPAddress.Loopback], MatchDomains = ["corp.example.com"] }));
    }

    [Fact]
    public void StoreEntry_SplitWithSearchDomains_HasOnlyTheSearchDomains()
    {
        MacOSStoreDictionary entry = MacOSDnsStorePlan.StoreEntry(new DnsConfiguration
        {
            Servers = [IPAddress.Parse("100.64.0.53")],
            MatchDomains = ["corp.example.com"],
            SearchDomains = ["lab.example.org"],
        })!;

        MacOSStoreDictionary expected = new MacOSStoreDictionary()
            .Set("ServerAddresses", Strings("100.64.0.53"))
            .Set("SupplementalMatchDomains", Strings("lab.example.org"))
            .Set("SearchDomains", Strings("lab.example.org"))
            .Set("SearchOrder", MacOSStoreValue.Number(100000));
        Assert.Equal(expected, entry);
    }

    [Fact]
    public void StoreEntry_PortOtherThan53_AddsServerPort()
    {
        DnsConfiguration configuration = EveryName;
        Assert.Null(MacOSDnsStorePlan.StoreEntry(configuration)!["ServerPort"]);

        configuration.Port = 5353;

        Assert.Equal(MacOSStoreValue.Number(5353), MacOSDnsStorePlan.StoreEntry(configuration)!["ServerPort"]);
    }

    [Fact]
    public void FormatAddress_DropsTheScopeId()
    {
        var linkLocal = IPAddress.Parse("fe80::1%4");

        Assert.Equal("fe80::1", MacOSDnsStorePlan.FormatAddress(linkLocal));
        Assert.Equal("127.53.0.1", MacOSDnsStorePlan.FormatAddress(IPAddress.Parse("127.53.0.1")));
    }

    [Fact]
    public void ResolverFileDomains_AreTheMatchDomainsOfSplitDnsOnly()
    {
        Assert.Empty(MacOSDnsStorePlan.ResolverFileDomains(EveryName));
        Assert.Equal(
            ["corp.example.com", "internal.example.net"],
            MacOSDnsStorePlan.ResolverFileDomains(new DnsConfiguration { Servers = [IPAddress.Loopback], MatchDomains = ["Corp.Example.com.", "internal.example.net", "corp.example.com"] }));
    }

    [Fact]
    public void Dictionary_Equality_ComparesKeysAndValues()
    {
        MacOSStoreDictionary a = new MacOSStoreDictionary().Set("A", Strings("x", "y")).Set("B", MacOSStoreValue.Number(1));
        MacOSStoreDictionary same = new MacOSStoreDictionary().Set("B", MacOSStoreValue.Number(1)).Set("A", Strings("x", "y"));

        Assert.Equal(a, same);
        Assert.NotEqual(a, new MacOSStoreDictionary().Set("A", Strings("y", "x")).Set("B", MacOSStoreValue.Number(1)));
        Assert.NotEqual(a, new MacOSStoreDictionary().Set("A", Strings("x", "y")));
        Assert.NotEqual(a, new MacOSStoreDictionary().Set("A", Strings("x", "y")).Set("B", MacOSStoreValue.String("1")));
        Assert.NotEqual(MacOSStoreValue.Other("CF type 21"), MacOSStoreValue.Other("CF type 21"));
        Assert.NotEqual(MacOSStoreDictionary.NotADictionary("CF type 7"), new MacOSStoreDictionary());
    }

    [Fact]
    public void Write_First_AddsATemporaryValueOfTheSession()
    {
        MacOSStoreDictionary value = MacOSDnsStorePlan.StoreEntry(EveryName)!;
        using var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);

        entry.Write(value);

        Assert.Equal(["AddTemporary " + Key], _configd.Calls);
        Assert.Equal(value, _configd.Value(Key));
        Assert.True(_configd.IsTemporary(Key));
    }

    [Fact]
    public void Write_ThenTheProcessDies_ConfigdDropsTheValueWithTheSession()
    {
        MacOSFakeDynamicStore? session = null;
        var entry = new MacOSDynamicStoreEntry(Key, () => session = _configd.Open(), _logger);
        entry.Write(MacOSDnsStorePlan.StoreEntry(EveryName)!);

        session!.Dispose(); // what configd does when the process ends, however it ends; the entry is never disposed

        Assert.Null(_configd.Value(Key));
    }

    [Fact]
    public void Write_Again_SetsInPlaceAndStaysTiedToTheSession()
    {
        using var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);
        entry.Write(MacOSDnsStorePlan.StoreEntry(EveryName)!);
        _configd.ClearCalls();
        DnsConfiguration changed = EveryName;
        changed.Servers = [IPAddress.Parse("127.53.0.2")];

        entry.Write(MacOSDnsStorePlan.StoreEntry(changed)!);

        Assert.Equal(["Copy " + Key, "Set " + Key], _configd.Calls);
        Assert.Equal(Strings("127.53.0.2"), _configd.Value(Key)!["ServerAddresses"]);
        Assert.True(_configd.IsTemporary(Key));
        Assert.Equal(1, _configd.SessionsOpened);
    }

    [Fact]
    public void Write_First_OverALeftover_RemovesItAndAddsOwnTemporaryValue()
    {
        _configd.SetByAnotherProgram(Key, new MacOSStoreDictionary().Set("ServerAddresses", Strings("10.9.9.9")));
        using var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);

        entry.Write(MacOSDnsStorePlan.StoreEntry(EveryName)!);

        Assert.Equal(["AddTemporary " + Key, "Remove " + Key, "AddTemporary " + Key], _configd.Calls);
        Assert.True(_configd.IsTemporary(Key));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 304 && e.Message.Contains(Key, StringComparison.Ordinal));
    }

    [Fact]
    public void Write_AfterAnotherProgramRewroteTheKey_TakesItBackAsTemporaryValue()
    {
        using var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);
        MacOSStoreDictionary value = MacOSDnsStorePlan.StoreEntry(EveryName)!;
        entry.Write(value);
        _configd.SetByAnotherProgram(Key, new MacOSStoreDictionary().Set("ServerAddresses", Strings("10.9.9.9")));

        entry.Write(value);

        Assert.Equal(value, _configd.Value(Key));
        Assert.True(_configd.IsTemporary(Key)); // a plain Set would have left it permanent
        Assert.Contains(_logger.Entries, e => e.Id.Id == 302 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public void Write_AfterAnotherProgramRemovedTheKey_AddsItAgain()
    {
        using var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);
        MacOSStoreDictionary value = MacOSDnsStorePlan.StoreEntry(EveryName)!;
        entry.Write(value);
        _configd.RemoveByAnotherProgram(Key);

        entry.Write(value);

        Assert.Equal(value, _configd.Value(Key));
        Assert.True(_configd.IsTemporary(Key));
    }

    [Fact]
    public void Write_Refused_IsAPermissionTunExceptionWithTheStatus()
    {
        _configd.RefuseWritesWith = kSCStatusAccessError;
        using var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);

        TunException e = Assert.Throws<TunException>(() => entry.Write(MacOSDnsStorePlan.StoreEntry(EveryName)!));

        Assert.True(e.IsPermissionDenied);
        Assert.Equal(1003, e.ErrorCode);
        Assert.Contains("kSCStatusAccessError", e.Message, StringComparison.Ordinal);
        Assert.Contains("sudo", e.Message, StringComparison.Ordinal);
        Assert.Contains(Key, e.Message, StringComparison.Ordinal);
        Assert.Null(entry.Written);
    }

    [Fact]
    public void Dispose_RemovesTheValueAndClosesTheSession()
    {
        var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);
        entry.Write(MacOSDnsStorePlan.StoreEntry(EveryName)!);
        _configd.ClearCalls();

        entry.Dispose();
        entry.Dispose();

        Assert.Equal(["Copy " + Key, "Remove " + Key, "Close"], _configd.Calls);
        Assert.Null(_configd.Value(Key));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 301);
    }

    [Fact]
    public void Dispose_WithoutWrite_OpensNoSession()
    {
        new MacOSDynamicStoreEntry(Key, _configd.Open, _logger).Dispose();

        Assert.Equal(0, _configd.SessionsOpened);
    }

    [Fact]
    public void Clear_AfterAnotherProgramRewroteTheKey_LeavesItAndWarns()
    {
        var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);
        entry.Write(MacOSDnsStorePlan.StoreEntry(EveryName)!);
        MacOSStoreDictionary theirs = new MacOSStoreDictionary().Set("ServerAddresses", Strings("10.9.9.9"));
        _configd.SetByAnotherProgram(Key, theirs);

        entry.Dispose();

        Assert.Equal(theirs, _configd.Value(Key));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 302 && e.Message.Contains("10.9.9.9", StringComparison.Ordinal));
    }

    [Fact]
    public void Clear_RemovalRefused_IsLoggedNotThrown()
    {
        var entry = new MacOSDynamicStoreEntry(Key, _configd.Open, _logger);
        entry.Write(MacOSDnsStorePlan.StoreEntry(EveryName)!);
        _configd.RefuseWritesWith = kSCStatusAccessError;

        entry.Clear();

        Assert.Contains(_logger.Entries, e => e.Id.Id == 303 && e.Level == LogLevel.Warning);
        Assert.Null(entry.Written);
    }

    [Fact]
    public void RecoverLeftover_RemovesAValueLeftUnderTheKey()
    {
        _configd.SetByAnotherProgram(Key, MacOSDnsStorePlan.StoreEntry(EveryName)!);
        using MacOSFakeDynamicStore store = _configd.Open();

        Assert.True(MacOSDynamicStoreEntry.RecoverLeftover(store, Key, _logger));
        Assert.Null(_configd.Value(Key));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 304);
        Assert.False(MacOSDynamicStoreEntry.RecoverLeftover(store, Key, _logger));
    }

    [Fact]
    public void RecoverLeftover_RemovalRefused_Throws()
    {
        _configd.SetByAnotherProgram(Key, MacOSDnsStorePlan.StoreEntry(EveryName)!);
        _configd.RefuseWritesWith = kSCStatusAccessError;
        using MacOSFakeDynamicStore store = _configd.Open();

        Assert.True(Assert.Throws<TunException>(() => MacOSDynamicStoreEntry.RecoverLeftover(store, Key, _logger)).IsPermissionDenied);
    }

    [Theory]
    [InlineData(0, "kSCStatusOK (0: success)")]
    [InlineData(1003, "kSCStatusAccessError (1003: permission denied)")]
    [InlineData(1005, "kSCStatusKeyExists (1005: key already defined)")]
    [InlineData(2002, "kSCStatusNoStoreServer (2002: configuration daemon not available)")]
    [InlineData(4001, "SCError 4001")]
    public void Describe_NamesTheStatus(int status, string expected)
    {
        Assert.Equal(expected, MacOSDynamicStoreEntry.Describe(status));
    }
}
