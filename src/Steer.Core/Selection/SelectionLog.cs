using Microsoft.Extensions.Logging;

namespace Steer.Selection;

/// <summary>Log messages of datacenter probing and selection.</summary>
internal static partial class SelectionLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Probe round: {Count} datacenters in {ElapsedMs:0.0} ms (early decision: {Early}), {Healthy} healthy")]
    public static partial void RoundCompleted(ILogger logger, int count, double elapsedMs, bool early, int healthy);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Datacenter {Name}: {State}, RTT {RttMs:0.0} ms: {Reason}")]
    public static partial void GatewayProbed(ILogger logger, string name, string state, double rttMs, string reason);
}
