using Microsoft.Extensions.Logging;

namespace Steer.Tun;

/// <summary>Log messages of the socket protectors. Event ids 400–409 are reserved for them and never reused.</summary>
internal static partial class SocketProtectorLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Socket protection: {Method}")]
    internal static partial void Created(ILogger logger, string method);

    [LoggerMessage(EventId = 401, Level = LogLevel.Debug, Message = "Protected {Socket}: {Options}")]
    internal static partial void Protected(ILogger logger, string socket, string options);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "Socket protection: no interface index set, so {Socket} is not bound to an interface")]
    internal static partial void NotBound(ILogger logger, string socket);
}
