using Microsoft.Extensions.Logging;

namespace Steer.Lab;

/// <summary>Log messages of Steer.Lab. Event ids are stable and never reused.</summary>
internal static partial class LabLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "[{Name}] started pid {ProcessId}: {CommandLine}")]
    public static partial void ProcessStarted(ILogger logger, string name, int processId, string commandLine);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "[{Name}] {Stream}: {Line}")]
    public static partial void ProcessOutput(ILogger logger, string name, string stream, string line);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "[{Name}] exited with code {ExitCode}")]
    public static partial void ProcessExited(ILogger logger, string name, int exitCode);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Created network namespace {Namespace}")]
    public static partial void NamespaceCreated(ILogger logger, string @namespace);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Removed network namespace {Namespace}")]
    public static partial void NamespaceRemoved(ILogger logger, string @namespace);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information,
        Message = "Lab {Prefix} is up: {ClientNamespace} ({ClientAddress}) <-> {GatewayNamespace} ({GatewayAddress} | {GatewayInetAddress}) <-> {InetNamespace} ({InetAddress})")]
    public static partial void TopologyReady(
        ILogger logger,
        string prefix,
        string clientNamespace,
        string clientAddress,
        string gatewayNamespace,
        string gatewayAddress,
        string gatewayInetAddress,
        string inetNamespace,
        string inetAddress);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Cleaning up network namespace {Namespace} failed")]
    public static partial void CleanupFailed(ILogger logger, string @namespace, Exception exception);

    [LoggerMessage(EventId = 14, Level = LogLevel.Debug, Message = "Killed pid {ProcessId} left in network namespace {Namespace}")]
    public static partial void KilledLeftoverProcess(ILogger logger, int processId, string @namespace);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Creating lab {Prefix} failed; removing what was created")]
    public static partial void CreateFailed(ILogger logger, string prefix, Exception exception);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "whoami HTTP server listening on {EndPoint}")]
    public static partial void HttpListening(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "HTTP connection from {RemoteEndPoint} failed")]
    public static partial void HttpConnectionFailed(ILogger logger, string remoteEndPoint, Exception exception);

    [LoggerMessage(EventId = 22, Level = LogLevel.Debug, Message = "{Method} {Target} from {RemoteEndPoint}: {StatusCode}")]
    public static partial void HttpRequest(ILogger logger, string method, string target, string remoteEndPoint, int statusCode);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Accepting an HTTP connection failed; retrying")]
    public static partial void HttpAcceptFailed(ILogger logger, Exception exception);
}
