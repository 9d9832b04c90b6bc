using System.Globalization;
using System.Text;

namespace Steer.Selection;

/// <summary>Formats a <see cref="ProbeReport"/> as the plain-text table of <c>steer probe</c>.</summary>
public static class ProbeReportFormatter
{
    private static readonly string[] Headers = ["", "DATACENTER", "LOCATION", "ADDRESS", "RTT MIN", "RTT MED", "LOSS", "STATE", "REASON"];

    /// <summary>
    /// Formats the report as a table, one datacenter a line, the chosen one marked <c>*</c>, then the decision:
    /// <code>
    ///   DATACENTER  LOCATION  ADDRESS           RTT MIN   RTT MED  LOSS  STATE      REASON
    /// * lab-2       lab       198.18.2.1:443    12.1 ms   12.4 ms    0%  ok         3/3 answers
    ///   lab-1       lab       198.18.1.1:443    48.3 ms   48.9 ms    0%  ok         3/3 answers
    /// chosen: lab-2 (lab-2 chosen: lowest RTT 12.1 ms (next lab-1 48.3 ms)); probed in 142 ms
    /// </code>
    /// </summary>
    /// <param name="report">The report.</param>
    /// <returns>The table, lines ending with '\n'.</returns>
    public static string FormatTable(ProbeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = new List<string[]> { Headers };
        foreach (DatacenterReport dc in report.Datacenters)
        {
            rows.Add(
            [
                dc.Chosen ? "*" : "",
                dc.Name,
                dc.Location ?? "-",
                dc.Address,
                Ms(dc.RttMinMs),
                Ms(dc.RttMedianMs),
                dc.LossPercent.ToString("0", CultureInfo.InvariantCulture) + "%",
                dc.State,
                dc.Reason,
            ]);
        }

        int columns = Headers.Length;
        int[] widths = new int[columns];
        foreach (string[] row in rows)
        {
            for (int c = 0; c < columns; c++)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }

        var text = new StringBuilder();
        foreach (string[] row in rows)
        {
            var line = new StringBuilder();
            for (int c = 0; c < columns; c++)
            {
                bool rightAligned = c is 4 or 5 or 6;
                string cell = rightAligned ? row[c].PadLeft(widths[c]) : c == columns - 1 ? row[c] : row[c].PadRight(widths[c]);
                line.Append(cell);
                if (c < columns - 1)
                {
                    line.Append(c == 0 ? " " : "  ");
                }
            }

            text.Append(line.ToString().TrimEnd()).Append('\n');
        }

        string elapsed = report.ElapsedMs.ToString("0", CultureInfo.InvariantCulture);
        string early = report.DecidedEarly ? " (early decision)" : "";
        text.Append(report.Chosen is null
            ? $"chosen: none ({report.Reason ?? "no decision"}); probed in {elapsed} ms{early}\n"
            : $"chosen: {report.Chosen} ({report.Reason}); probed in {elapsed} ms{early}\n");
        return text.ToString();
    }

    private static string Ms(double? value) =>
        value is double v ? v.ToString("0.0", CultureInfo.InvariantCulture) + " ms" : "-";
}
