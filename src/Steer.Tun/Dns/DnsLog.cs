using Microsoft.Extensions.Logging;

namespace Steer.Tun.Dns;

/// <summary>Log messages of the DNS configurators. Event ids 300–329 are reserved for them and never reused.</summary>
internal static partial class DnsLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "DNS: {Target} now points at {Servers}")]
    internal static partial void Applied(ILogger logger, string target, string servers);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "DNS: restored {Target}")]
    internal static partial void Restored(ILogger logger, string target);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "DNS: {Target} was rewritten by another program while Steer ran; it is left as that program wrote it ({Detail})")]
    internal static partial void ForeignRewrite(ILogger logger, string target, string detail);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "DNS: could not restore {Target}")]
    internal static partial void RestoreFailed(ILogger logger, Exception exception, string target);

    [LoggerMessage(EventId = 304, Level = LogLevel.Information, Message = "DNS: {Target} was left by an earlier Steer run that did not stop cleanly; {Action}")]
    internal static partial void Leftover(ILogger logger, string target, string action);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "DNS: search domains {Domains} are not applied: {Reason}")]
    internal static partial void SearchDomainsIgnored(ILogger logger, string domains, string reason);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "DNS: backend {Backend}: {Reason}")]
    internal static partial void BackendChosen(ILogger logger, DnsBackend backend, string reason);

    [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "DNS: {Target}: {Setting} was not accepted ({Error}); the rest of the configuration is in place")]
    internal static partial void SettingNotAccepted(ILogger logger, string target, string setting, string error);
}
