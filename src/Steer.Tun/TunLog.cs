using Microsoft.Extensions.Logging;

namespace Steer.Tun;

/// <summary>Steer.Tun's log messages. Event ids are stable and never reused.</summary>
internal static partial class TunLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Created TUN device {Name} (index {InterfaceIndex}, MTU {Mtu})")]
    internal static partial void TunCreated(ILogger logger, string name, int interfaceIndex, int mtu);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Closed TUN device {Name}")]
    internal static partial void TunClosed(ILogger logger, string name);

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
