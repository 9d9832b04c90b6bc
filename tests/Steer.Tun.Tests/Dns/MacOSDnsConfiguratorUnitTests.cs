using System.Net;
using Steer.Tun.Dns;
using static Steer.Tun.MacOS.Interop.SystemConfigurationStatus;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// The macOS DNS configurator as <c>DnsConfigurator.Create</c> builds it, with a temporary directory standing in for
/// /etc/resolver and a fake configd for the dynamic store: every name and search domains through Steer's store entry,
/// split DNS through resolver files, switching between them, restoring, and leftovers.
/// </summary>
public sealed class MacOSDnsConfiguratorUnitTests : IDisposable
{
    private const string Key = MacOSDnsStorePlan.DnsKey;
    private readonly TempDirectory _root = new();
    private readonly RecordingLogger _logger = new();
    private readonly MacOSFakeConfigd _configd = new();
    private readonly string _directory;

    public MacOSDnsConfiguratorUnitTests()
    {
        _directory = _root.File("resolver");
    }

    private static DnsConfiguration EveryName => new()
    {
        Servers = [IPAddress.Parse("127.53.0.1")],
        InterfaceName = "utun4",
        InterfaceIndex = 12,
    };

    private static DnsConfiguration Split => new()
    {
        Servers = [IPAddress.Parse("100.64.0.53")],
        MatchDomains = ["corp.example.com", "internal.example.net"],
        InterfaceName = "utun4",
    };

    private MacOSDnsConfigurator Create() => new(_directory, _configd.Open, _logger);

    [Fact]
    public void Backend_IsTheMacOSOne()
    {
        using MacOSDnsConfigurator configurator = Create();

        Assert.Equal(DnsBackend.MacOSResolverFiles, configurator.Backend);
    }

    [Fact]
    public void Apply_EveryName_WritesTheStoreEntryAndNoResolverFile()
    {
        using MacOSDnsConfigurator configurator = Create();

        configurator.Apply(EveryName); // what SteerClient does in steering mode "all": no longer NotSupportedException

        Assert.Equal(MacOSDnsStorePlan.StoreEntry(EveryName), _configd.Value(Key));
        Assert.True(_configd.IsTemporary(Key));
        Assert.False(Directory.Exists(_directory));
        Assert.Contains(_logger.Entries, e => e.Id.Id == 300 && e.Message.Contains("every name", StringComparison.Ordinal));
    }

    [Fact]
    public void Apply_EveryNameWithSearchDomains_AppliesThemInsteadOfIgnoringThem()
    {
        using MacOSDnsConfigurator configurator = Create();
        DnsConfiguration configuration = EveryName;
        configuration.SearchDomains = ["corp.example.com"];

        configurator.Apply(configuration);

        Assert.Equal(MacOSStoreValue.Strings(["corp.example.com"]), _configd.Value(Key)!["SearchDomains"]);
        Assert.DoesNotContain(_logger.Entries, e => e.Id.Id == 305);
    }

    [Fact]
    public void Apply_Split_WritesResolverFilesAndNoStoreEntry()
    {
        using MacOSDnsConfigurator configurator = Create();

        configurator.Apply(Split);

        Assert.True(File.Exists(Path.Combine(_directory, "corp.example.com")));
        Assert.True(File.Exists(Path.Combine(_directory, "internal.example.net")));
        Assert.Null(_configd.Value(Key));
        Assert.Equal(0, _configd.SessionsOpened);
    }

    [Fact]
    public void Apply_SplitWithSearchDomains_FilesForTheMatchDomainsAndTheStoreEntryForTheSearchDomains()
    {
        using MacOSDnsConfigurator configurator = Create();
        DnsConfiguration configuration = Split;
        configuration.SearchDomains = ["lab.example.org"];

        configurator.Apply(configuration);

        Assert.Equal(["corp.example.com", "internal.example.net"], Directory.EnumerateFiles(_directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(MacOSStoreValue.Strings(["lab.example.org"]), _configd.Value(Key)!["SupplementalMatchDomains"]);
        Assert.DoesNotContain(_logger.Entries, e => e.Id.Id == 305);
        Assert.DoesNotContain("search", File.ReadAllText(Path.Combine(_directory, "corp.example.com")), StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_SplitThenEveryName_RemovesTheResolverFiles()
    {
        using MacOSDnsConfigurator configurator = Create();
        configurator.Apply(Split);

        configurator.Apply(EveryName);

        Assert.NotNull(_configd.Value(Key));
        Assert.False(Directory.Exists(_directory)); // Steer created it, and it is empty again
    }

    [Fact]
    public void Apply_EveryNameThenSplit_RemovesTheStoreEntry()
    {
        using MacOSDnsConfigurator configurator = Create();
        configurator.Apply(EveryName);

        configurator.Apply(Split);

        Assert.Null(_configd.Value(Key));
        Assert.True(File.Exists(Path.Combine(_directory, "corp.example.com")));
    }

    [Fact]
    public void Dispose_RemovesEverythingAndPutsBackAFileThatExistedBefore()
    {
        Directory.CreateDirectory(_directory);
        string existing = Path.Combine(_directory, "corp.example.com");
        File.WriteAllText(existing, "nameserver 10.1.1.1\n");
        var configurator = Create();
        DnsConfiguration configuration = Split;
        configuration.SearchDomains = ["lab.example.org"];
        configurator.Apply(configuration);

        configurator.Dispose();
        configurator.Dispose();

        Assert.Null(_configd.Value(Key));
        Assert.Equal("nameserver 10.1.1.1\n", File.ReadAllText(existing));
        Assert.Equal(["corp.example.com"], Directory.EnumerateFiles(_directory).Select(Path.GetFileName));
        Assert.Throws<ObjectDisposedException>(() => configurator.Apply(EveryName));
    }

    [Fact]
    public void Apply_StoreRefused_ThrowsAndLeavesNoFiles()
    {
        _configd.RefuseWritesWith = kSCStatusAccessError;
        using MacOSDnsConfigurator configurator = Create();

        TunException e = Assert.Throws<TunException>(() => configurator.Apply(EveryName));

        Assert.True(e.IsPermissionDenied);
        Assert.False(Directory.Exists(_directory));
    }

    [Fact]
    public void Apply_InvalidConfiguration_ChangesNothing()
    {
        using MacOSDnsConfigurator configurator = Create();

        Assert.Throws<ArgumentException>(() => configurator.Apply(new DnsConfiguration()));

        Assert.Equal(0, _configd.SessionsOpened);
    }

    [Fact]
    public void RecoverLeftovers_AfterAKilledRun_CleansFilesAndStoreEntry()
    {
        Directory.CreateDirectory(_directory);
        string existing = Path.Combine(_directory, "corp.example.com");
        File.WriteAllText(existing, "nameserver 10.1.1.1\n");
        new MacOSResolverFileConfigurator(_directory, _logger).Apply(Split); // never disposed: a killed run's files
        _configd.SetByAnotherProgram(Key, MacOSDnsStorePlan.StoreEntry(EveryName)!); // a value configd did not drop

        Assert.True(MacOSDnsConfigurator.RecoverLeftovers(_directory, _configd.Open, _logger));

        Assert.Equal("nameserver 10.1.1.1\n", File.ReadAllText(existing));
        Assert.Equal(["corp.example.com"], Directory.EnumerateFiles(_directory).Select(Path.GetFileName));
        Assert.False(Directory.Exists(_directory + ".steer-backup"));
        Assert.Null(_configd.Value(Key));
        Assert.False(MacOSDnsConfigurator.RecoverLeftovers(_directory, _configd.Open, _logger));
    }

    [Fact]
    public void RecoverLeftovers_NothingThere_IsFalseAndCreatesNothing()
    {
        Assert.False(MacOSDnsConfigurator.RecoverLeftovers(_directory, _configd.Open, _logger));

        Assert.False(Directory.Exists(_directory));
    }

    [Fact]
    public void RecoverLeftovers_LeavesOtherProgramsFilesAlone()
    {
        Directory.CreateDirectory(_directory);
        string theirs = Path.Combine(_directory, "vpn.example.com");
        File.WriteAllText(theirs, "nameserver 10.2.2.2\n");

        Assert.False(MacOSDnsConfigurator.RecoverLeftovers(_directory, _configd.Open, _logger));

        Assert.Equal("nameserver 10.2.2.2\n", File.ReadAllText(theirs));
    }

    public void Dispose() => _root.Dispose();
}
