using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Steer.Tun.Journal;

/// <summary>
/// The journal every router keeps of its changes, shared by the Linux, macOS and Windows routers: in memory, and
/// optionally in a file so that a process killed without cleaning up (kill -9, a crash) can be cleaned up after.
/// </summary>
/// <remarks>
/// <para>
/// The file holds one JSON object per line: a header (format version, process id, Linux boot id and network
/// namespace), then for each change <c>{"id":N,"change":{…}}</c>, appended with one <c>write(2)</c> before the change
/// is made, and <c>{"undone":N}</c> once the change has been undone, or was not made after all. The changes still to
/// undo are those without an <c>undone</c> line. A router that is disposed cleanly deletes the file.
/// </para>
/// <para>
/// Nothing is fsynced. Once <c>write(2)</c> has returned, the line is in the kernel's page cache and every later
/// reader sees it, however the writing process ends (<c>kill -9</c>, a crash): the failures the journal is for. fsync
/// would only add durability across an operating-system crash or power loss, and what the journal describes (routes,
/// rules, addresses, link state) does not survive those; a journal from before a reboot is discarded (by its boot id,
/// or — when the crash lost the header but not later lines — because it has no header: in one boot the header, written
/// first, is always there). An fsync per change cost 0.7–3 ms on a disk-backed state folder, 20 to 40 changes when
/// Steer starts; <c>/run</c> is a tmpfs where fsync is free anyway.
/// </para>
/// <para>
/// The file is locked while a router or a recovery uses it (<see cref="FileShare.None"/>: an advisory
/// <c>flock</c> on Unix, released by the kernel when the process dies), so a live router's journal is never
/// recovered from under it. A journal written before the last reboot (another Linux boot id) is discarded: the
/// kernel state it describes is gone. A journal written in another network namespace is refused.
/// </para>
/// <para>Not thread-safe: each router calls it under its own lock.</para>
/// </remarks>
internal sealed partial class ChangeJournal : IDisposable
{
    /// <summary>The header's <see cref="JournalLine.Journal"/> value.</summary>
    internal const string Magic = "steer-router";

    /// <summary>The current file format.</summary>
    internal const int FormatVersion = 1;

    private const string BootIdPath = "/proc/sys/kernel/random/boot_id";
    private const string NetworkNamespacePath = "/proc/thread-self/ns/net";

    private readonly List<(long Id, RouterChange Change)> _entries = [];
    private readonly FileStream? _file;
    private readonly ILogger _logger;
    private long _lastId;
    private bool _closed;

    private ChangeJournal(string? path, FileStream? file, ILogger logger)
    {
        Path = path;
        _file = file;
        _logger = logger;
    }

    /// <summary>The journal file's full path, or <see langword="null"/> for a journal kept in memory only.</summary>
    public string? Path { get; }

    /// <summary>The changes made and not undone, oldest first.</summary>
    public IReadOnlyList<RouterChange> Changes => _entries.ConvertAll(e => e.Change);

    /// <summary>
    /// Opens a journal. With a path: creates missing directories (0700), creates or locks the file (0600), first undoes
    /// (through <paramref name="undoer"/>) what a dead process left in it, then starts it afresh with a header.
    /// </summary>
    /// <param name="path">The journal file, or <see langword="null"/> for a journal in memory only.</param>
    /// <param name="undoer">Undoes leftovers found in the file.</param>
    /// <param name="logger">Receives the recovery's messages.</param>
    /// <exception cref="TunException">
    /// The file is in use by another router, cannot be written, or holds leftovers that could not be undone.
    /// </exception>
    public static ChangeJournal Open(string? path, IChangeUndoer undoer, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(undoer);
        ArgumentNullException.ThrowIfNull(logger);
        if (path is null)
        {
            return new ChangeJournal(null, null, logger);
        }

        string fullPath = System.IO.Path.GetFullPath(path);
        CreateDirectory(fullPath);
        FileStream file = OpenLocked(fullPath, FileMode.OpenOrCreate);
        try
        {
            if (file.Length > 0)
            {
                UndoLeftovers(file, fullPath, undoer, logger);
            }

            var journal = new ChangeJournal(fullPath, file, logger);
            file.SetLength(0);
            file.Position = 0;
            WriteLine(file, new JournalLine
            {
                Journal = Magic,
                Version = FormatVersion,
                Pid = Environment.ProcessId,
                BootId = CurrentBootId(),
                NetworkNamespace = CurrentNetworkNamespace(),
                Started = DateTimeOffset.UtcNow,
            });
            return journal;
        }
        catch (IOException e)
        {
            file.Dispose();
            throw new TunException($"Cannot write the router journal {fullPath}: {e.Message}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Undoes, in reverse order, the changes a dead process left in the journal at <paramref name="path"/>, then
    /// deletes the file.
    /// </summary>
    /// <returns>The number of changes that were still to undo (those the kernel had already dropped included); 0 for a missing file.</returns>
    /// <exception cref="TunException">
    /// The journal is in use by a running router, was written in another network namespace, or some changes could
    /// not be undone (the file is then kept, listing only those, for a later attempt).
    /// </exception>
    public static int Recover(string path, IChangeUndoer undoer, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(undoer);
        ArgumentNullException.ThrowIfNull(logger);
        string fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            return 0;
        }

        FileStream file;
        try
        {
            file = OpenLocked(fullPath, FileMode.Open);
        }
        catch (TunException e) when (e.InnerException is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0; // removed between the check and the open
        }

        using (file)
        {
            int undone;
            try
            {
                undone = UndoLeftovers(file, fullPath, undoer, logger);
            }
            catch (IOException e)
            {
                throw new TunException($"Cannot read the router journal {fullPath}: {e.Message}", e);
            }

            // Deleted while still open and locked, so that no other process can start using it in between (Unix
            // unlinks at once; Windows when the handle closes, which FileShare.Delete allows).
            File.Delete(fullPath);
            return undone;
        }
    }

    /// <summary>
    /// Journals <paramref name="change"/> (written to the file first), then makes it through <paramref name="apply"/>.
    /// When <paramref name="apply"/> returns <see langword="false"/> (nothing was changed, e.g. the object already
    /// existed and is not ours) or throws, the entry is marked undone again.
    /// </summary>
    /// <exception cref="TunException">The journal file could not be written; the change was not made.</exception>
    public void Record(RouterChange change, Func<bool> apply)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(apply);
        ObjectDisposedException.ThrowIf(_closed, this);
        long id = ++_lastId;
        AppendOrThrow(new JournalLine { Id = id, Change = JournalChange.From(change) }, change);
        bool made;
        try
        {
            made = apply();
        }
        catch
        {
            MarkUndone(id);
            throw;
        }

        if (made)
        {
            _entries.Add((id, change));
        }
        else
        {
            MarkUndone(id);
        }
    }

    /// <summary>True when a journalled change (made and not undone) matches.</summary>
    public bool Contains(Predicate<RouterChange> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        return _entries.Exists(e => match(e.Change));
    }

    /// <summary>
    /// Drops the most recent journalled change that matches, because it was reverted by other means (e.g. the
    /// route this router added was removed through the router).
    /// </summary>
    /// <returns>True when a change matched.</returns>
    public bool Forget(Predicate<RouterChange> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        int index = _entries.FindLastIndex(e => match(e.Change));
        if (index < 0)
        {
            return false;
        }

        long id = _entries[index].Id;
        _entries.RemoveAt(index);
        MarkUndone(id);
        return true;
    }

    /// <summary>Drops every journalled change that matches (see <see cref="Forget"/>).</summary>
    /// <returns>The number dropped.</returns>
    public int ForgetAll(Predicate<RouterChange> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        int count = 0;
        while (Forget(match))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// Undoes every journalled change in reverse order, marking each in the file, then closes the journal and
    /// deletes its file — unless a change could not be undone: the file is then kept for
    /// <see cref="Router.RecoverLeftovers"/>. Never throws; failures are logged.
    /// </summary>
    public void UndoAllAndClose(IChangeUndoer undoer)
    {
        ArgumentNullException.ThrowIfNull(undoer);
        if (_closed)
        {
            return;
        }

        int failed = 0;
        for (int i = _entries.Count - 1; i >= 0; i--)
        {
            (long id, RouterChange change) = _entries[i];
            if (TryUndo(undoer, change, _logger) is null)
            {
                failed++;
            }
            else
            {
                MarkUndone(id);
            }
        }

        _entries.Clear();
        _closed = true;
        if (_file is null || Path is null)
        {
            return;
        }

        if (failed == 0)
        {
            try
            {
                File.Delete(Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TunLog.JournalWriteFailed(_logger, e, Path);
            }
        }
        else
        {
            TunLog.JournalKept(_logger, Path, failed);
        }

        _file.Dispose();
    }

    /// <summary>Closes the journal without undoing anything; the file stays, as after a crash.</summary>
    public void Dispose()
    {
        _closed = true;
        _file?.Dispose();
    }

    /// <summary>Undoes one change and logs the outcome.</summary>
    /// <returns>True when undone, false when there was nothing to undo, <see langword="null"/> when it failed.</returns>
    private static bool? TryUndo(IChangeUndoer undoer, RouterChange change, ILogger logger)
        => TryUndo(undoer, change, logger, out _);

    private static bool? TryUndo(IChangeUndoer undoer, RouterChange change, ILogger logger, out Exception? failure)
    {
        failure = null;
        string what = change.DescribeUndo();
        TunLog.RouterUndoing(logger, what);
        try
        {
            string? notNeeded = undoer.Undo(change);
            if (notNeeded is null)
            {
                return true;
            }

            TunLog.RouterUndoNotNeeded(logger, what, notNeeded);
            return false;
        }
        catch (Exception e) when (e is TunException or IOException or InvalidDataException or NotSupportedException)
        {
            TunLog.RouterUndoFailed(logger, e, what);
            failure = e;
            return null;
        }
    }

    /// <summary>
    /// Reads a journal left by a dead process and undoes its outstanding changes in reverse order, appending an
    /// <c>undone</c> line after each, so that a recovery that is itself interrupted does not repeat them.
    /// </summary>
    /// <returns>The number of outstanding changes (undone, or found already gone).</returns>
    private static int UndoLeftovers(FileStream file, string path, IChangeUndoer undoer, ILogger logger)
    {
        byte[] content = new byte[file.Length];
        file.Position = 0;
        file.ReadExactly(content);
        JournalLine? header = null;
        var changes = new List<(long Id, RouterChange Change)>();
        var undone = new HashSet<long>();
        int lineNumber = 0;
        int start = 0;
        int lastNewlineEnd = 0;
        bool lastLineCutShort = false;
        while (start < content.Length)
        {
            int newline = Array.IndexOf(content, (byte)'\n', start);
            bool complete = newline >= 0;
            int end = complete ? newline : content.Length;
            lineNumber++;
            ReadOnlySpan<byte> text = content.AsSpan(start, end - start);
            start = end + 1;
            if (complete)
            {
                lastNewlineEnd = start;
            }

            if (text.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            JournalLine? line;
            try
            {
                line = JsonSerializer.Deserialize(text, JournalJsonContext.Default.JournalLine);
            }
            catch (JsonException e)
            {
                // The last line may have been cut short by the crash: expected, and not an error.
                if (complete)
                {
                    TunLog.JournalLineSkipped(logger, path, lineNumber, e.Message);
                }
                else
                {
                    lastLineCutShort = true;
                    TunLog.JournalLastLineCutShort(logger, path);
                }

                continue;
            }

            if (line is null)
            {
                continue;
            }

            if (line.Journal is not null)
            {
                header ??= line;
            }
            else if (line.Undone is { } undoneId)
            {
                undone.Add(undoneId);
            }
            else if (line.Id is { } id && line.Change is not null)
            {
                try
                {
                    changes.Add((id, line.Change.ToChange()));
                }
                catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
                {
                    TunLog.JournalLineSkipped(logger, path, lineNumber, e.Message);
                }
            }
        }

        if (header?.Journal is { } magic && magic != Magic)
        {
            throw new TunException($"{path} is not a Steer router journal (it says '{magic}').");
        }

        if (header is null && changes.Count > 0)
        {
            // The header is written before any change, and within one boot every reader sees it: changes without it
            // are what an operating-system crash left of a journal of an earlier boot (nothing is fsynced).
            LogJournalWithoutHeader(logger, path);
            return 0;
        }

        string? bootId = CurrentBootId();
        if (header?.BootId is { } writtenBootId && bootId is not null && writtenBootId != bootId)
        {
            TunLog.JournalFromEarlierBoot(logger, path);
            return 0;
        }

        string? networkNamespace = CurrentNetworkNamespace();
        if (header?.NetworkNamespace is { } writtenNamespace && networkNamespace is not null && writtenNamespace != networkNamespace)
        {
            throw new TunException(
                $"The router journal {path} was written in network namespace {writtenNamespace}, but this thread is in "
                + $"{networkNamespace}: its changes must be undone from that namespace.");
        }

        // Appended marks must start on a line of their own: drop a cut-short last line, or end a complete one.
        if (lastLineCutShort)
        {
            file.SetLength(lastNewlineEnd);
        }

        file.Position = file.Length;
        if (lastNewlineEnd < file.Length)
        {
            file.Write("\n"u8);
        }

        var outstanding = changes.Where(c => !undone.Contains(c.Id)).ToList();
        var failures = new List<(RouterChange Change, Exception Error)>();
        int count = 0;
        for (int i = outstanding.Count - 1; i >= 0; i--)
        {
            (long id, RouterChange change) = outstanding[i];
            if (TryUndo(undoer, change, logger, out Exception? failure) is null)
            {
                failures.Add((change, failure!));
                continue;
            }

            count++;
            WriteLine(file, new JournalLine { Undone = id });
        }

        TunLog.JournalRecovered(logger, path, count, header?.Pid ?? 0);
        if (failures.Count > 0)
        {
            (RouterChange first, Exception error) = failures[0];
            var tunError = error as TunException;
            throw new TunException(
                $"{failures.Count.ToString(CultureInfo.InvariantCulture)} change(s) left in the router journal {path} could not be undone "
                + $"(the first: {first.DescribeUndo()}: {error.Message}); the journal is kept for another attempt.",
                error)
            {
                ErrorCode = tunError?.ErrorCode ?? 0,
                IsPermissionDenied = tunError?.IsPermissionDenied ?? false,
            };
        }

        return count;
    }

    private void AppendOrThrow(JournalLine line, RouterChange change)
    {
        try
        {
            Append(line);
        }
        catch (IOException e)
        {
            throw new TunException($"Cannot {change.DescribeUndo()} later: the router journal {Path} could not be written ({e.Message}); nothing was changed.", e);
        }
    }

    private void Append(JournalLine line)
    {
        if (_file is not null)
        {
            WriteLine(_file, line);
        }
    }

    /// <summary>Marks a change undone in the file; a failure is logged, not thrown (the undo itself happened).</summary>
    private void MarkUndone(long id)
    {
        try
        {
            Append(new JournalLine { Undone = id });
        }
        catch (IOException e)
        {
            TunLog.JournalWriteFailed(_logger, e, Path ?? "");
        }
    }

    /// <summary>
    /// Appends one line in a single <c>write(2)</c> (the stream is unbuffered): from then on any reader of the file sees
    /// it, even if this process is killed the next moment. Not fsynced (see the remarks on the class).
    /// </summary>
    private static void WriteLine(FileStream file, JournalLine line)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(line, JournalJsonContext.Default.JournalLine);
        byte[] record = new byte[json.Length + 1];
        json.CopyTo(record, 0);
        record[^1] = (byte)'\n';
        file.Write(record);
    }

    private static void CreateDirectory(string fullPath)
    {
        string? directory = System.IO.Path.GetDirectoryName(fullPath);
        if (string.IsNullOrEmpty(directory) || Directory.Exists(directory))
        {
            return;
        }

        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TunException($"Cannot create the router journal's directory {directory}: {e.Message}", e)
            {
                IsPermissionDenied = e is UnauthorizedAccessException,
            };
        }
    }

    /// <summary>Opens the journal for reading and appending, locked against every other user.</summary>
    private static FileStream OpenLocked(string fullPath, FileMode mode)
    {
        var options = new FileStreamOptions
        {
            Mode = mode,
            Access = FileAccess.ReadWrite,
            // Unix: FileShare.None takes flock(LOCK_EX). Windows: Delete lets the owner delete it while open.
            Share = OperatingSystem.IsWindows() ? FileShare.Delete : FileShare.None,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows() && mode != FileMode.Open)
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            return new FileStream(fullPath, options);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TunException($"Cannot open the router journal {fullPath}: {e.Message}", e) { IsPermissionDenied = true };
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException))
        {
            throw new TunException(
                $"Cannot open the router journal {fullPath}: {e.Message} Another Steer process (or router) is probably using it.", e);
        }
        catch (IOException e)
        {
            throw new TunException($"Cannot open the router journal {fullPath}: {e.Message}", e);
        }
    }

    /// <summary>Linux's boot id, or <see langword="null"/> elsewhere.</summary>
    internal static string? CurrentBootId()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return File.ReadAllText(BootIdPath).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The calling thread's network namespace (<c>net:[inode]</c>) on Linux, or <see langword="null"/>.</summary>
    internal static string? CurrentNetworkNamespace()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return new FileInfo(NetworkNamespacePath).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 28, Level = LogLevel.Information, Message = "Router journal {Path} has no header: it was left by an operating-system crash, what it lists is gone, so it is discarded")]
    private static partial void LogJournalWithoutHeader(ILogger logger, string path);
}
