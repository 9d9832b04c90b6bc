using Steer.Configuration;
using Steer.Selection;

namespace Steer.Core.Tests.Selection;

/// <summary>Gateways and hand-made probe results for the selection unit tests.</summary>
internal static class SelectionTestData
{
    public const string Pin = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    public static GatewayEndpoint Dc(string name, int port = 443, string address = "127.0.0.1") =>
        new() { Name = name, Address = address, Port = port, Pins = [Pin], Location = "lab" };

    public static GatewayProbeResult Ok(GatewayEndpoint gateway, double rttMs) => new()
    {
        Gateway = gateway,
        State = ProbeState.Ok,
        Reason = "3/3 answers",
        SamplesSent = 3,
        SamplesAnswered = 3,
        Rtts = [Ms(rttMs), Ms(rttMs), Ms(rttMs)],
        MinRtt = Ms(rttMs),
        MedianRtt = Ms(rttMs),
    };

    public static GatewayProbeResult Failed(GatewayEndpoint gateway, ProbeState state, string reason = "no answer to 3 UDP probes within 1000 ms") => new()
    {
        Gateway = gateway,
        State = state,
        Reason = reason,
        SamplesSent = 3,
        SamplesLost = state == ProbeState.Slow ? 0 : 3,
    };

    public static TimeSpan Ms(double value) => TimeSpan.FromMilliseconds(value);

    /// <summary>Feeds one round (name → RTT in ms, or null for no answer) into the history, one second after the previous.</summary>
    public static void AddRound(ProbeHistory history, ManualTimeProvider time, IReadOnlyList<GatewayEndpoint> gateways, params double?[] rtts)
    {
        time.Advance(TimeSpan.FromSeconds(1));
        var results = new List<GatewayProbeResult>();
        for (int i = 0; i < gateways.Count; i++)
        {
            results.Add(rtts[i] is double rtt ? Ok(gateways[i], rtt) : Failed(gateways[i], ProbeState.NoAnswer));
        }

        history.Add(new ProbeRound { StartedAt = time.GetUtcNow(), Elapsed = TimeSpan.FromMilliseconds(100), Results = results });
    }
}
