using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Steer.Bench.Reporting;

/// <summary>Prints the result table and writes the JSON file.</summary>
internal static class ReportWriter
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>The table: one row per metric and scope, with median, min, max, target, met? and the OpenConnect anchor.</summary>
    public static string FormatTable(BenchResults results, int runs)
    {
        string[] header = ["scope", "metric", "unit", "median", "min", "max", "n", "target", "met", "OpenConnect"];
        var rows = new List<string[]>();
        foreach (MetricResult r in results.Results)
        {
            MetricDefinition d = r.Definition;
            bool any = r.Samples.Count > 0;
            string met = r.Met switch { true => "yes", false => "NO", null => any || d.TargetKind == TargetKind.None ? "" : "n/a" };
            double? anchor = d.AnchorFor(r.Scope);
            rows.Add([
                r.Scope,
                d.Label,
                d.Unit,
                any ? Format(r.Median, d.Format) : "error",
                any ? Format(r.Min, d.Format) : "",
                any ? Format(r.Max, d.Format) : "",
                string.Create(s_inv, $"{r.Samples.Count}/{runs}"),
                d.TargetText,
                met,
                anchor is { } a ? Format(a, d.Format) : "",
            ]);
        }

        int[] widths = new int[header.Length];
        foreach (string[] row in rows.Prepend(header))
        {
            for (int i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        AppendRow(text, header, widths);
        AppendRow(text, widths.Select(w => new string('-', w)).ToArray(), widths);
        foreach (string[] row in rows)
        {
            AppendRow(text, row, widths);
        }

        return text.ToString();
    }

    /// <summary>Writes the results, the options and the environment as indented JSON.</summary>
    public static void WriteJson(Stream stream, BenchResults results, BenchOptions options, BenchEnvironment environment)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("schema", "steer-bench/1");

        json.WriteStartObject("environment");
        json.WriteString("startedAt", environment.StartedAt);
        json.WriteNumber("elapsedSeconds", Math.Round(environment.Elapsed.TotalSeconds, 1));
        json.WriteString("host", environment.Host);
        json.WriteString("kernel", environment.Kernel);
        json.WriteString("cpu", environment.Cpu);
        json.WriteNumber("processorCount", environment.ProcessorCount);
        json.WriteString("dotnetRuntime", environment.Runtime);
        json.WriteString("steer", environment.Steer);
        json.WriteString("gitCommit", environment.GitCommit);
        json.WriteString("iperf3", environment.Iperf3Version);
        json.WriteString("ping", environment.PingVersion);
        json.WriteString("loadAverageAtStart", environment.LoadAverageAtStart);
        json.WriteString("loadAverageAtEnd", environment.LoadAverageAtEnd);
        json.WriteEndObject();

        json.WriteStartObject("options");
        json.WriteNumber("runs", options.Runs);
        json.WriteNumber("durationSeconds", options.DurationSeconds);
        json.WriteStartArray("transports");
        foreach (string transport in options.Transports)
        {
            json.WriteStringValue(transport);
        }

        json.WriteEndArray();
        json.WriteString("sections", options.Sections.ToString());
        json.WriteNumber("udpLength", options.UdpLength);
        json.WriteString("udpBitrate", options.UdpBitrate);
        json.WriteNumber("pingCount", options.PingCount);
        json.WriteNumber("pingInterval", options.PingInterval);
        json.WriteEndObject();

        json.WriteStartArray("metrics");
        foreach (MetricResult r in results.Results)
        {
            MetricDefinition d = r.Definition;
            json.WriteStartObject();
            json.WriteString("scope", r.Scope);
            json.WriteString("key", d.Key);
            json.WriteString("label", d.Label);
            json.WriteString("unit", d.Unit);
            WriteNumberOrNull(json, "median", r.Median);
            WriteNumberOrNull(json, "min", r.Min);
            WriteNumberOrNull(json, "max", r.Max);
            json.WriteStartArray("samples");
            foreach (double sample in r.Samples)
            {
                json.WriteNumberValue(sample);
            }

            json.WriteEndArray();
            if (d.TargetKind != TargetKind.None)
            {
                json.WriteStartObject("target");
                json.WriteString("kind", d.TargetKind == TargetKind.AtLeast ? "atLeast" : "atMost");
                json.WriteNumber("value", d.Target);
                json.WriteEndObject();
            }

            if (r.Met is { } met)
            {
                json.WriteBoolean("met", met);
            }

            if (d.AnchorFor(r.Scope) is { } anchor)
            {
                json.WriteNumber("openConnect", anchor);
            }

            if (r.Errors.Count > 0)
            {
                json.WriteStartArray("errors");
                foreach (string error in r.Errors)
                {
                    json.WriteStringValue(error);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("notes");
        foreach (string note in results.Notes)
        {
            json.WriteStringValue(note);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static string Format(double value, string format) => value.ToString(format, s_inv);

    private static void AppendRow(StringBuilder text, string[] cells, int[] widths)
    {
        for (int i = 0; i < cells.Length; i++)
        {
            bool numeric = i is >= 3 and <= 6 or 9;
            string cell = numeric ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]);
            text.Append(i == 0 ? "" : "  ").Append(cell);
        }

        text.Append('\n');
    }
}
