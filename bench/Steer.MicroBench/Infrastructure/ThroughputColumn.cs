using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Steer.MicroBench.Infrastructure;

/// <summary>
/// MB/s (10^6 bytes per second) for benchmarks with a <c>PacketSize</c> or <c>WriteSize</c> parameter: the bytes one
/// operation handles divided by its mean time. Empty for the others.
/// </summary>
public sealed class ThroughputColumn : IColumn
{
    private static readonly string[] s_sizeParameters = ["PacketSize", "WriteSize"];

    public string Id => nameof(ThroughputColumn);

    public string ColumnName => "MB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Throughput: bytes per operation (PacketSize/WriteSize) / mean time, in 10^6 bytes per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        BenchmarkReport? report = summary[benchmarkCase];
        double? meanNs = report?.ResultStatistics?.Mean;
        object? size = s_sizeParameters.Select(name => benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value).FirstOrDefault(v => v is not null);
        if (meanNs is not { } mean || mean <= 0 || size is not int bytes)
        {
            return "-";
        }

        return (bytes / (mean * 1e-9) / 1e6).ToString("N0", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
