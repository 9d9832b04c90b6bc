using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Tun.Journal;
using Steer.Tun.Tests.Dns;

namespace Steer.Tun.Tests;

/// <summary>The shared router journal and its file format, with a fake undoer: no privileges needed.</summary>
public sealed class ChangeJournalUnitTests : IDisposable
{
    private static readonly RouteEntry s_route = new(IPNetwork.Parse("198.18.5.0/24"), 7, IPAddress.Parse("198.18.4.1"), 5354, 20);
    private static readonly RouteEntry s_throw = RouteEntry.WithoutInterface(RouteType.Throw, IPNetwork.Parse("fd53:7ee7:5354::/48"), 5354);
    private static readonly RoutingRule s_rule = new(AddressFamily.InterNetwork, 100, 5354)
    {
        Invert = true,
        FirewallMark = 0x5354,
        IpProtocol = ProtocolType.Udp,
        DestinationPorts = (53, 54),
        Destination = IPNetwork.Parse("198.18.0.0/15"),
        SuppressPrefixLength = 0,
    };

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Record_WritesTheEntryBeforeTheChangeIsMade()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Reads the locked journal with cat.");
        string path = _directory.File("j/router.journal");
        using ChangeJournal journal = ChangeJournal.Open(path, new FakeUndoer(), NullLogger.Instance);
        string? seenDuringApply = null;

        journal.Record(RouterChange.ForAddedRule(s_rule), () =>
        {
            seenDuringApply = ReadLocked(path);
            return true;
        });

        Assert.NotNull(seenDuringApply);
        string[] lines = seenDuringApply.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("{\"journal\":\"steer-router\",\"version\":1,\"pid\":", lines[0], StringComparison.Ordinal);
        Assert.Equal(
            "{\"id\":1,\"change\":{\"kind\":\"AddedRule\",\"rule\":{\"family\":\"inet\",\"priority\":100,\"table\":5354,"
            + "\"firewallMark\":21332,\"invert\":true,\"ipProtocol\":17,\"destinationPorts\":\"53-54\","
            + "\"destination\":\"198.18.0.0/15\",\"suppressPrefixLength\":0}}}",
            lines[1]);
        Assert.Equal([RouterChange.ForAddedRule(s_rule)], journal.Changes);
    }

    [Fact]
    public void Record_ManyChanges_EveryLineIsInTheFileBeforeItsChange()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Reads the locked journal with cat.");
        string path = _directory.File("router.journal");
        using ChangeJournal journal = ChangeJournal.Open(path, new FakeUndoer(), NullLogger.Instance);
        RouterChange[] changes =
        [
            RouterChange.ForAddedRule(s_rule),
            RouterChange.ForAddedRoute(s_route),
            RouterChange.ForAddedRoute(s_throw),
            RouterChange.ForAddedRule(s_rule with { Priority = 101 }),
        ];

        for (int i = 0; i < changes.Length; i++)
        {
            int expectedLines = i + 2; // the header, the earlier changes and this one
            journal.Record(changes[i], () =>
            {
                Assert.Equal(expectedLines, ReadLocked(path).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
                return true;
            });
        }

        Assert.Equal(changes, journal.Changes);
    }

    [Fact]
    public void Recover_ChangesWithoutHeader_AreDiscardedWithoutUndoing()
    {
        // What an operating-system crash can leave of an unsynced journal: later lines on disk, the header not.
        string path = _directory.File("router.journal");
        File.WriteAllText(path,
            "{\"id\":1,\"change\":{\"kind\":\"AddedRule\",\"rule\":{\"family\":\"inet\",\"priority\":100,\"table\":5354}}}\n");
        var undoer = new FakeUndoer();

        Assert.Equal(0, ChangeJournal.Recover(path, undoer, NullLogger.Instance));

        Assert.Empty(undoer.Undone);
        Assert.False(File.Exists(path));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // skips first when not on Linux
    public void Open_MissingDirectory_CreatesItPrivateAndTheFileOwnerOnly()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Unix file modes.");
        string path = _directory.File("run/steer/router.journal");

        using (ChangeJournal.Open(path, new FakeUndoer(), NullLogger.Instance))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_directory.File("run/steer")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void UndoAllAndClose_UndoesInReverseAndDeletesTheFile()
    {
        string path = _directory.File("router.journal");
        var undoer = new FakeUndoer();
        ChangeJournal journal = ChangeJournal.Open(path, undoer, NullLogger.Instance);
        RouterChange[] changes =
        [
            RouterChange.ForLink(7, false, 1500),
            RouterChange.ForAddress(7, InterfaceAddress.Parse("198.18.4.2/24")),
            RouterChange.ForAddedRoute(s_route),
            RouterChange.ForAddedRule(s_rule),
        ];
        foreach (RouterChange change in changes)
        {
            journal.Record(change, () => true);
        }

        journal.UndoAllAndClose(undoer);

        Assert.Equal(changes.Reverse(), undoer.Undone);
        Assert.False(File.Exists(path));
        journal.UndoAllAndClose(undoer); // idempotent
        Assert.Equal(4, undoer.Undone.Count);
    }

    [Fact]
    public void Record_NothingChangedOrFailed_IsMarkedUndoneAndNotUndoneLater()
    {
        string path = _directory.File("router.journal");
        var undoer = new FakeUndoer();
        ChangeJournal journal = ChangeJournal.Open(path, undoer, NullLogger.Instance);

        journal.Record(RouterChange.ForAddedRule(s_rule), () => false); // EEXIST: someone else's
        Assert.Throws<TunException>(() => journal.Record(RouterChange.ForAddedRoute(s_route), () => throw new TunException("refused")));
        journal.Dispose(); // abandoned, as by kill -9

        Assert.Equal(0, ChangeJournal.Recover(path, undoer, NullLogger.Instance));
        Assert.Empty(undoer.Undone);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Forget_RemovesTheChangeFromMemoryAndFile()
    {
        string path = _directory.File("router.journal");
        var undoer = new FakeUndoer();
        ChangeJournal journal = ChangeJournal.Open(path, undoer, NullLogger.Instance);
        journal.Record(RouterChange.ForAddedRoute(s_route), () => true);
        journal.Record(RouterChange.ForAddedRoute(s_throw), () => true);

        Assert.True(journal.Forget(c => c.Route == s_route));
        Assert.False(journal.Forget(c => c.Route == s_route));
        journal.Dispose();

        Assert.Equal(1, ChangeJournal.Recover(path, undoer, NullLogger.Instance));
        Assert.Equal([RouterChange.ForAddedRoute(s_throw)], undoer.Undone);
    }

    [Fact]
    public void Recover_CutShortLastLine_UndoesTheRestInReverseAndDeletesTheFile()
    {
        string path = _directory.File("router.journal");
        var undoer = new FakeUndoer();
        ChangeJournal journal = ChangeJournal.Open(path, undoer, NullLogger.Instance);
        RouterChange[] changes =
        [
            RouterChange.ForLink(7, true, 9000),
            RouterChange.ForAddedRoute(s_route),
            RouterChange.ForRemovedRoute(s_throw),
            RouterChange.ForAddedRule(s_rule),
        ];
        foreach (RouterChange change in changes)
        {
            journal.Record(change, () => true);
        }

        journal.Dispose();
        File.AppendAllText(path, "{\"id\":5,\"change\":{\"kind\":\"AddedRou"); // the process died mid-write

        int undone = ChangeJournal.Recover(path, undoer, NullLogger.Instance);

        Assert.Equal(4, undone);
        Assert.Equal(changes.Reverse(), undoer.Undone);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Recover_SomeChangesFail_ThrowsAndKeepsOnlyThoseForTheNextAttempt()
    {
        string path = _directory.File("router.journal");
        var undoer = new FakeUndoer();
        ChangeJournal journal = ChangeJournal.Open(path, undoer, NullLogger.Instance);
        journal.Record(RouterChange.ForAddedRoute(s_route), () => true);
        journal.Record(RouterChange.ForAddedRule(s_rule), () => true);
        journal.Dispose();
        var failing = new FakeUndoer { Fail = c => c.Kind == RouterChangeKind.AddedRoute };

        TunException e = Assert.Throws<TunException>(() => ChangeJournal.Recover(path, failing, NullLogger.Instance));

        Assert.Contains("1 change(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("remove route 198.18.5.0/24", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(path));
        Assert.Equal(1, ChangeJournal.Recover(path, undoer, NullLogger.Instance));
        Assert.Equal([RouterChange.ForAddedRoute(s_route)], undoer.Undone);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void UndoAllAndClose_AnUndoFails_KeepsTheFileWithOnlyThatChange()
    {
        string path = _directory.File("router.journal");
        var failing = new FakeUndoer { Fail = c => c.Kind == RouterChangeKind.AddedRule };
        ChangeJournal journal = ChangeJournal.Open(path, failing, NullLogger.Instance);
        journal.Record(RouterChange.ForAddedRoute(s_route), () => true);
        journal.Record(RouterChange.ForAddedRule(s_rule), () => true);

        journal.UndoAllAndClose(failing);

        Assert.True(File.Exists(path));
        var undoer = new FakeUndoer();
        Assert.Equal(1, ChangeJournal.Recover(path, undoer, NullLogger.Instance));
        Assert.Equal([RouterChange.ForAddedRule(s_rule)], undoer.Undone);
    }

    [Fact]
    public void Open_LeftoversInTheFile_AreUndoneFirstThenTheJournalStartsAfresh()
    {
        string path = _directory.File("router.journal");
        var undoer = new FakeUndoer();
        ChangeJournal crashed = ChangeJournal.Open(path, undoer, NullLogger.Instance);
        crashed.Record(RouterChange.ForAddedRule(s_rule), () => true);
        crashed.Dispose();

        using ChangeJournal journal = ChangeJournal.Open(path, undoer, NullLogger.Instance);

        Assert.Equal([RouterChange.ForAddedRule(s_rule)], undoer.Undone);
        Assert.Empty(journal.Changes);
    }

    [Fact]
    public void Open_PathInUse_ThrowsTunException()
    {
        string path = _directory.File("router.journal");
        using ChangeJournal first = ChangeJournal.Open(path, new FakeUndoer(), NullLogger.Instance);

        TunException open = Assert.Throws<TunException>(() => ChangeJournal.Open(path, new FakeUndoer(), NullLogger.Instance));
        TunException recover = Assert.Throws<TunException>(() => ChangeJournal.Recover(path, new FakeUndoer(), NullLogger.Instance));

        Assert.Contains("using it", open.Message, StringComparison.Ordinal);
        Assert.Contains(path, recover.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Recover_JournalFromAnEarlierBoot_IsDeletedWithoutUndoing()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Boot ids are Linux's.");
        string path = _directory.File("router.journal");
        File.WriteAllText(path,
            "{\"journal\":\"steer-router\",\"version\":1,\"pid\":1,\"bootId\":\"00000000-0000-0000-0000-000000000000\"}\n"
            + "{\"id\":1,\"change\":{\"kind\":\"AddedRule\",\"rule\":{\"family\":\"inet\",\"priority\":100,\"table\":5354}}}\n");
        var undoer = new FakeUndoer();

        Assert.Equal(0, ChangeJournal.Recover(path, undoer, NullLogger.Instance));
        Assert.Empty(undoer.Undone);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Recover_JournalOfAnotherNetworkNamespace_ThrowsAndKeepsIt()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Network namespaces are Linux's.");
        string path = _directory.File("router.journal");
        File.WriteAllText(path,
            $"{{\"journal\":\"steer-router\",\"version\":1,\"pid\":1,\"networkNamespace\":\"net:[1]\"}}\n"
            + "{\"id\":1,\"change\":{\"kind\":\"AddedRule\",\"rule\":{\"family\":\"inet\",\"priority\":100,\"table\":5354}}}\n");
        var undoer = new FakeUndoer();

        TunException e = Assert.Throws<TunException>(() => ChangeJournal.Recover(path, undoer, NullLogger.Instance));

        Assert.Contains("network namespace net:[1]", e.Message, StringComparison.Ordinal);
        Assert.Empty(undoer.Undone);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void RecoverLeftovers_NoJournal_ReturnsZero()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The router is only implemented on Linux here.");

        Assert.Equal(0, Router.RecoverLeftovers(_directory.File("missing.journal")));
    }

    [Fact]
    public void JournalChange_EveryKind_RoundTripsThroughJson()
    {
        RouterChange[] changes =
        [
            RouterChange.ForLink(3, false, 1500),
            RouterChange.ForLink(4, true, 1280, "utun7"),
            RouterChange.ForAddress(3, InterfaceAddress.Parse("fd53:7ee7:1::2/64"), "utun7"),
            RouterChange.ForAddedRoute(s_route),
            RouterChange.ForAddedRoute(new RouteEntry(IPNetwork.Parse("0.0.0.0/0"), 3)),
            RouterChange.ForAddedRoute(RouteEntry.WithoutInterface(RouteType.Blackhole, IPNetwork.Parse("198.18.9.0/24"), 100)),
            RouterChange.ForRemovedRoute(s_throw),
            RouterChange.ForAddedRule(s_rule),
            RouterChange.ForAddedRule(new RoutingRule(AddressFamily.InterNetworkV6, 0, 1)),
            RouterChange.ForInterfaceSettings(12, AddressFamily.InterNetworkV6, 1400, 25, true),
        ];

        foreach (RouterChange change in changes)
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(new JournalLine { Id = 1, Change = JournalChange.From(change) }, JournalJsonContext.Default.JournalLine);
            JournalLine? back = JsonSerializer.Deserialize(json, JournalJsonContext.Default.JournalLine);
            Assert.Equal(change, back?.Change?.ToChange());
        }
    }

    /// <summary>Reads a file that the journal holds locked (flock), as another process would.</summary>
    private static string ReadLocked(string path)
    {
        (int exitCode, string output) = HostCommands.Run("cat", path);
        Assert.Equal(0, exitCode);
        return output;
    }

    private sealed class FakeUndoer : IChangeUndoer
    {
        public List<RouterChange> Undone { get; } = [];

        public Func<RouterChange, bool> Fail { get; init; } = _ => false;

        public string? Undo(RouterChange change)
        {
            if (Fail(change))
            {
                throw new TunException("Cannot " + change.DescribeUndo() + ": Operation not permitted (EPERM).") { ErrorCode = 1, IsPermissionDenied = true };
            }

            Undone.Add(change);
            return null;
        }
    }
}
