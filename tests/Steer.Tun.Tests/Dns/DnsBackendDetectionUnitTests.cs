using System.Net;
using Steer.Tun.Dns;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// Which Linux backend is chosen, on a temporary resolv.conf (regular files and symbolic links, which may dangle: the
/// decision reads link targets, not the files of a running systemd-resolved) and an injected bus-name check.
/// </summary>
public sealed class DnsBackendDetectionUnitTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;
    private int _busChecks;

    public DnsBackendDetectionUnitTests()
    {
        _path = _directory.File("resolv.conf");
    }

    public void Dispose() => _directory.Dispose();

    private DnsConfiguratorOptions Options(DnsBackend backend = DnsBackend.Auto) => new()
    {
        Backend = backend,
        ResolvConfPath = _path,
        ResolvedUpstreamPath = _directory.File("upstream-resolv.conf"),
        SystemBusAddress = "unix:path=" + _directory.File("bus"),
    };

    private (DnsBackend Backend, string Reason) Detect(bool resolvedOnBus, DnsBackend backend = DnsBackend.Auto)
        => Detect(resolvedOnBus ? DnsConfigurator.ResolvedPresence.Here : DnsConfigurator.ResolvedPresence.Absent, backend);

    private (DnsBackend Backend, string Reason) Detect(DnsConfigurator.ResolvedPresence presence, DnsBackend backend = DnsBackend.Auto)
        => DnsConfigurator.DetectLinux(Options(backend), _ =>
        {
            _busChecks++;
            return presence;
        });

    [Theory]
    [InlineData("/run/systemd/resolve/stub-resolv.conf")]
    [InlineData("/usr/lib/systemd/resolv.conf")]
    [InlineData("/lib/systemd/resolv.conf")]
    public void LinkToAStubFile_AndResolve1Owned_IsSystemdResolved(string target)
    {
        File.CreateSymbolicLink(_path, target);

        (DnsBackend backend, string reason) = Detect(resolvedOnBus: true);

        Assert.Equal(DnsBackend.SystemdResolved, backend);
        Assert.Contains("links to " + target, reason, StringComparison.Ordinal);
        Assert.Equal(1, _busChecks);
    }

    [Fact]
    public void LinkToTheStubFile_ButNoOwnerOnTheBus_IsResolvConf()
    {
        File.CreateSymbolicLink(_path, "/run/systemd/resolve/stub-resolv.conf");

        (DnsBackend backend, string reason) = Detect(resolvedOnBus: false);

        Assert.Equal(DnsBackend.ResolvConf, backend);
        Assert.Contains("has no owner", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void LinkToTheStubFile_ButResolvedInAnotherNetworkNamespace_IsResolvConf()
    {
        File.CreateSymbolicLink(_path, "/run/systemd/resolve/stub-resolv.conf");

        (DnsBackend backend, string reason) = Detect(DnsConfigurator.ResolvedPresence.OtherNetworkNamespace);

        Assert.Equal(DnsBackend.ResolvConf, backend);
        Assert.Contains("another network namespace", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RelativeLinkToTheStubFile_IsResolvedAgainstTheLinksDirectory()
    {
        // From /tmp/steer-dns-xxxx/resolv.conf, enough ".." to reach / and then the stub file (as "../run/…" does from /etc).
        string up = string.Concat(Enumerable.Repeat("../", _directory.Path.Count(c => c == '/')));
        File.CreateSymbolicLink(_path, up + "run/systemd/resolve/stub-resolv.conf");

        Assert.Equal(DnsBackend.SystemdResolved, Detect(resolvedOnBus: true).Backend);
    }

    [Fact]
    public void ChainOfLinksEndingAtTheStubFile_Counts()
    {
        string middle = _directory.File("resolv.conf.middle");
        File.CreateSymbolicLink(middle, "/run/systemd/resolve/stub-resolv.conf");
        File.CreateSymbolicLink(_path, middle);

        Assert.Equal(DnsBackend.SystemdResolved, Detect(resolvedOnBus: true).Backend);
    }

    [Fact]
    public void LinkToResolvedsUpstreamList_IsResolvConfWithoutAskingTheBus()
    {
        File.CreateSymbolicLink(_path, "/run/systemd/resolve/resolv.conf");

        (DnsBackend backend, string reason) = Detect(resolvedOnBus: true);

        Assert.Equal(DnsBackend.ResolvConf, backend);
        Assert.Contains("directly", reason, StringComparison.Ordinal);
        Assert.Equal(0, _busChecks);
    }

    [Fact]
    public void LinkElsewhere_IsResolvConfWithoutAskingTheBus()
    {
        File.CreateSymbolicLink(_path, "/run/NetworkManager/resolv.conf");

        Assert.Equal(DnsBackend.ResolvConf, Detect(resolvedOnBus: true).Backend);
        Assert.Equal(0, _busChecks);
    }

    [Fact]
    public void RegularFileNamingOnlyTheStubAddress_Counts_OtherFilesDoNot()
    {
        File.WriteAllText(_path, "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n");
        Assert.Equal(DnsBackend.SystemdResolved, Detect(resolvedOnBus: true).Backend);

        File.WriteAllText(_path, "nameserver 127.0.0.53\nnameserver 192.168.1.1\n");
        Assert.Equal(DnsBackend.ResolvConf, Detect(resolvedOnBus: true).Backend);

        File.WriteAllText(_path, "nameserver 192.168.1.1\n");
        Assert.Equal(DnsBackend.ResolvConf, Detect(resolvedOnBus: true).Backend);
        Assert.Equal(1, _busChecks);
    }

    [Fact]
    public void MissingFile_IsResolvConf()
    {
        Assert.Equal(DnsBackend.ResolvConf, Detect(resolvedOnBus: true).Backend);
    }

    [Fact]
    public void ForcedBackend_SkipsTheDetection()
    {
        File.WriteAllText(_path, "nameserver 192.168.1.1\n");
        Assert.Equal(DnsBackend.SystemdResolved, Detect(resolvedOnBus: false, DnsBackend.SystemdResolved).Backend);

        File.Delete(_path);
        File.CreateSymbolicLink(_path, "/run/systemd/resolve/stub-resolv.conf");
        Assert.Equal(DnsBackend.ResolvConf, Detect(resolvedOnBus: true, DnsBackend.ResolvConf).Backend);
        Assert.Equal(0, _busChecks);
        Assert.Throws<PlatformNotSupportedException>(() => Detect(resolvedOnBus: true, DnsBackend.WindowsNrpt));
    }

    [Fact]
    public void DetectBackend_OnLinux_AsksTheConfiguredBusAndFallsBackWhenItIsMissing()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The Linux detection.");
        File.CreateSymbolicLink(_path, "/run/systemd/resolve/stub-resolv.conf");

        // No bus at SystemBusAddress: NameHasOwner cannot be asked, so resolved is not in charge.
        Assert.Equal(DnsBackend.ResolvConf, DnsConfigurator.DetectBackend(Options()));
        using IDnsConfigurator configurator = DnsConfigurator.Create(Options(), new RecordingLogger());
        Assert.Equal(DnsBackend.ResolvConf, configurator.Backend);
    }

    [Fact]
    public void Create_Forced_LogsTheBackendAndItsReason()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The Linux backends.");
        var logger = new RecordingLogger();

        using IDnsConfigurator configurator = DnsConfigurator.Create(Options(DnsBackend.SystemdResolved), logger);

        Assert.IsType<SystemdResolvedConfigurator>(configurator);
        Assert.Contains(logger.Entries, e => e.Id.Id == 306 && e.Message.Contains("SystemdResolved", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_InvalidBackendOrBus_AreRejected()
    {
        Assert.Equal("o.Backend", Assert.Throws<ArgumentException>(() => new DnsConfiguratorOptions { Backend = (DnsBackend)42 }.Validate("o")).ParamName);
        Assert.Equal("o.SystemBusAddress", Assert.Throws<ArgumentException>(() => new DnsConfiguratorOptions { SystemBusAddress = " " }.Validate("o")).ParamName);
        Assert.Equal("o.ResolvedUpstreamPath", Assert.Throws<ArgumentException>(() => new DnsConfiguratorOptions { ResolvedUpstreamPath = "resolv.conf" }.Validate("o")).ParamName);
        Assert.Equal("unix:path=/x", new DnsConfiguratorOptions { SystemBusAddress = "unix:path=/x" }.EffectiveSystemBusAddress);
    }

    [Fact]
    public void GetSystemServers_WithResolved_ReadsItsUpstreamListNotTheStub()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux reads resolv.conf files.");
        File.CreateSymbolicLink(_path, "/run/systemd/resolve/stub-resolv.conf");
        File.WriteAllText(Options().ResolvedUpstreamPath, "# upstream\nnameserver 192.168.1.1\nnameserver fd00::1\nsearch home.arpa\n");

        Assert.Equal([IPAddress.Parse("192.168.1.1"), IPAddress.Parse("fd00::1")], DnsConfigurator.GetSystemServers(Options()));

        // Forced resolv.conf: the stub is the server resolv.conf names (the link itself is dangling here, so none).
        Assert.Empty(DnsConfigurator.GetSystemServers(Options(DnsBackend.ResolvConf)));
    }

    [Fact]
    public void GetSystemServers_ResolvedWithoutUpstreamList_FallsBackToResolvConfWithoutTheStub()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux reads resolv.conf files.");
        File.WriteAllText(_path, "nameserver 127.0.0.53\n");

        Assert.Empty(DnsConfigurator.GetSystemServers(Options()));

        File.WriteAllText(_path, "nameserver 10.0.0.1\n");
        Assert.Equal([IPAddress.Parse("10.0.0.1")], DnsConfigurator.GetSystemServers(Options()));
    }
}
