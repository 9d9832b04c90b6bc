using System.Text.Json;

namespace Steer.Selection;

/// <summary>
/// What <c>steer probe</c> prints: every datacenter with RTT, loss, state and reason, and which one is chosen and why.
/// Serialize with <see cref="ToJson"/> (source-generated, <see cref="ProbeReportJsonContext"/>) or format with
/// <see cref="ProbeReportFormatter.FormatTable"/>.
/// </summary>
public sealed record ProbeReport
{
    /// <summary>The tenant; null when not given.</summary>
    public string? Tenant { get; init; }

    /// <summary>When the round started.</summary>
    public DateTimeOffset ProbedAt { get; init; }

    /// <summary>Time to the result in milliseconds.</summary>
    public double ElapsedMs { get; init; }

    /// <summary>True when the round ended by the early-decision rule.</summary>
    public bool DecidedEarly { get; init; }

    /// <summary>The chosen datacenter's name; null when none is usable.</summary>
    public string? Chosen { get; init; }

    /// <summary>Why it was chosen (<see cref="SelectionDecision.Reason"/>); null when no decision was made.</summary>
    public string? Reason { get; init; }

    /// <summary>Every probed datacenter, in configuration order.</summary>
    public required IReadOnlyList<DatacenterReport> Datacenters { get; init; }

    /// <summary>Builds the report of a round and the decision taken on it.</summary>
    /// <param name="round">The probe round.</param>
    /// <param name="decision">The selector's decision; null when none.</param>
    /// <param name="tenant">The tenant, if any.</param>
    /// <returns>The report.</returns>
    public static ProbeReport Create(ProbeRound round, SelectionDecision? decision, string? tenant = null)
    {
        ArgumentNullException.ThrowIfNull(round);
        string? chosen = decision?.Chosen?.Name;
        return new ProbeReport
        {
            Tenant = tenant,
            ProbedAt = round.StartedAt,
            ElapsedMs = Round(round.Elapsed.TotalMilliseconds),
            DecidedEarly = round.DecidedEarly,
            Chosen = chosen,
            Reason = decision?.Reason,
            Datacenters = round.Results.Select(r => new DatacenterReport
            {
                Name = r.Name,
                Location = r.Gateway.Location,
                Address = r.Gateway.HostAndPort,
                RttMinMs = Round(r.MinRtt?.TotalMilliseconds),
                RttMedianMs = Round(r.MedianRtt?.TotalMilliseconds),
                LossPercent = Math.Round(r.Loss * 100, 1),
                State = r.State.ToWireName(),
                Reason = r.Reason,
                Chosen = string.Equals(r.Name, chosen, StringComparison.Ordinal),
                SamplesSent = r.SamplesSent,
                SamplesAnswered = r.SamplesAnswered,
                TcpConnectMs = Round(r.TcpConnectTime?.TotalMilliseconds),
                TlsHandshakeMs = Round(r.TlsHandshakeTime?.TotalMilliseconds),
            }).ToArray(),
        };
    }

    /// <summary>The report as JSON (camelCase, nulls omitted), without reflection.</summary>
    /// <param name="indented">Whether to indent.</param>
    /// <returns>The JSON text.</returns>
    public string ToJson(bool indented = false) =>
        JsonSerializer.Serialize(this, indented ? ProbeReportJsonContext.Indented.ProbeReport : ProbeReportJsonContext.Default.ProbeReport);

    private static double Round(double value) => Math.Round(value, 2);

    private static double? Round(double? value) => value is double v ? Math.Round(v, 2) : null;
}
