using Microsoft.Extensions.Logging;

namespace Steer.Tun.MacOS;

/// <summary>Log messages of the macOS implementation. Event ids 100–119 are reserved for it and never reused.</summary>
internal static partial class MacOSLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "macOS names utun devices itself; '{Requested}' is not a utun name, so the next free utun unit is used")]
    internal static partial void UtunNameNotHonoured(ILogger logger, string requested);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Route {Route} already exists; it is left in place and not undone")]
    internal static partial void RouteAlreadyPresent(ILogger logger, string route);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "macOS has no route metrics or tables; metric {Metric} of route {Route} is ignored")]
    internal static partial void MetricIgnored(ILogger logger, int metric, string route);
}
