using Microsoft.Extensions.Logging;

namespace Steer.Tun.Windows;

/// <summary>Log messages of the Windows implementation. Event ids 200–219 are reserved for it and never reused.</summary>
internal static partial class WindowsLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Windows names Wintun adapters freely; '{Requested}' is a pattern, so the adapter is named {AdapterName}")]
    internal static partial void AdapterNameChosen(ILogger logger, string requested, string adapterName);

    [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "{What} already exists; it is left in place and not undone")]
    internal static partial void AlreadyPresent(ILogger logger, string what);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "IPv6 is disabled on interface #{InterfaceIndex}; only its IPv4 settings were changed")]
    internal static partial void NoIpv6(ILogger logger, int interfaceIndex);
}
