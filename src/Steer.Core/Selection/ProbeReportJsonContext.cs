using System.Text.Json;
using System.Text.Json.Serialization;

namespace Steer.Selection;

/// <summary>Source-generated (reflection-free, AOT-safe) JSON of <see cref="ProbeReport"/>: camelCase, nulls omitted.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProbeReport))]
public sealed partial class ProbeReportJsonContext : JsonSerializerContext
{
    private static ProbeReportJsonContext? s_indented;

    /// <summary>The same contract, written indented.</summary>
    public static ProbeReportJsonContext Indented =>
        s_indented ??= new ProbeReportJsonContext(new JsonSerializerOptions(Default.Options) { WriteIndented = true });
}
