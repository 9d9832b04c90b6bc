using Microsoft.Extensions.Logging;

namespace Steer.Tun;

/// <summary>Steer.Tun's log messages. Event ids are stable and never reused.</summary>
internal static partial class TunLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Created TUN device {Name} (index {InterfaceIndex}, MTU {Mtu})")]
    internal static partial void TunCreated(ILogger logger, string name, int interfaceIndex, int mtu);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Closed TUN device {Name}")]
    internal static partial void TunClosed(ILogger logger, string name);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "TUN device {Name} runs without offloads ({Reason}): one packet per read")]
    internal static partial void OffloadUnavailable(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "TUN device {Name} offloads: {Reads} reads, {SuperPackets} TCP super-packets (largest {Largest} bytes) split into {Segments} segments, {Checksums} checksums completed, {Dropped} malformed dropped")]
    internal static partial void OffloadSummary(ILogger logger, string name, long reads, long superPackets, long segments, long largest, long checksums, long dropped);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Network change: {Change}")]
    internal static partial void RouterChanged(ILogger logger, string change);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Undoing network change: {Change}")]
    internal static partial void RouterUndoing(ILogger logger, string change);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "Nothing to undo for {Change}: {Reason}")]
    internal static partial void RouterUndoNotNeeded(ILogger logger, string change, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Could not undo network change {Change}")]
    internal static partial void RouterUndoFailed(ILogger logger, Exception exception, string change);

    [LoggerMessage(EventId = 14, Level = LogLevel.Debug, Message = "Address {Address} already present on interface #{InterfaceIndex}; it will be left in place")]
    internal static partial void AddressAlreadyPresent(ILogger logger, string address, int interfaceIndex);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "Router journal {Path}: undid {Count} change(s) left behind by process {Pid}")]
    internal static partial void JournalRecovered(ILogger logger, string path, int count, int pid);

    [LoggerMessage(EventId = 16, Level = LogLevel.Information, Message = "Router journal {Path} was written before the last reboot: what it lists is gone, so it is discarded")]
    internal static partial void JournalFromEarlierBoot(ILogger logger, string path);

    [LoggerMessage(EventId = 17, Level = LogLevel.Warning, Message = "Router journal {Path}: line {Line} is skipped: {Reason}")]
    internal static partial void JournalLineSkipped(ILogger logger, string path, int line, string reason);

    [LoggerMessage(EventId = 18, Level = LogLevel.Warning, Message = "Router journal {Path} is kept: {Count} change(s) could not be undone; Router.RecoverLeftovers retries them")]
    internal static partial void JournalKept(ILogger logger, string path, int count);

    [LoggerMessage(EventId = 19, Level = LogLevel.Debug, Message = "Rule {Rule} already exists; it is left in place and not undone")]
    internal static partial void RuleAlreadyPresent(ILogger logger, string rule);

    [LoggerMessage(EventId = 25, Level = LogLevel.Warning, Message = "Could not write to router journal {Path}")]
    internal static partial void JournalWriteFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 26, Level = LogLevel.Debug, Message = "Flushed table {Table} ({Family}): {Count} route(s) deleted")]
    internal static partial void TableFlushed(ILogger logger, int table, string family, int count);

    [LoggerMessage(EventId = 27, Level = LogLevel.Debug, Message = "Router journal {Path}: the last line was cut short (the process died while writing it) and is ignored")]
    internal static partial void JournalLastLineCutShort(ILogger logger, string path);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Enabled NAT: nftables table {Table} masquerades {Pools} leaving through interfaces other than {TunInterface}")]
    internal static partial void NatEnabled(ILogger logger, string table, string pools, string tunInterface);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Disabled NAT: removed nftables table {Table}")]
    internal static partial void NatDisabled(ILogger logger, string table);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Could not remove nftables table {Table}")]
    internal static partial void NatCleanupFailed(ILogger logger, Exception exception, string table);

    [LoggerMessage(EventId = 23, Level = LogLevel.Debug, Message = "Set {Path} from {OldValue} to {NewValue}")]
    internal static partial void SysctlChanged(ILogger logger, string path, string oldValue, string newValue);

    [LoggerMessage(EventId = 24, Level = LogLevel.Warning, Message = "Could not restore {Path} to {OldValue}")]
    internal static partial void SysctlRestoreFailed(ILogger logger, Exception exception, string path, string oldValue);
}
