using System.Globalization;
using Steer.Lab;

namespace Steer.Bench.Probes;

/// <summary>Round-trip times of one ping run, in milliseconds.</summary>
internal sealed record PingResult(IReadOnlyList<double> RttMs, int Sent)
{
    public double P50 => Percentile(0.50);

    public double P99 => Percentile(0.99);

    public int Lost => Sent - RttMs.Count;

    /// <summary>Nearest-rank percentile of the replies (NaN without replies).</summary>
    public double Percentile(double p)
    {
        if (RttMs.Count == 0)
        {
            return double.NaN;
        }

        double[] sorted = [.. RttMs.Order()];
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>Runs iputils <c>ping</c> in a lab namespace and collects the per-packet RTTs.</summary>
internal static class Ping
{
    public static bool IsAvailable => LabPrerequisites.FindExecutable("ping") is not null;

    /// <summary>Pings <paramref name="target"/> <paramref name="count"/> times; bounded by count × interval + 10 s.</summary>
    public static async Task<PingResult> RunAsync(string networkNamespace, string target, int count, double interval, CancellationToken ct)
    {
        string[] args =
        [
            "-n", "-c", count.ToString(CultureInfo.InvariantCulture),
            "-i", interval.ToString("0.###", CultureInfo.InvariantCulture),
            "-W", "1", target,
        ];
        TimeSpan timeout = TimeSpan.FromSeconds((count * interval) + 10);
        LabCommandResult result = await LabProcess.RunAsync(networkNamespace, "ping", args, timeout, ct);
        var rtts = new List<double>(count);
        foreach (string line in result.StandardOutput.Split('\n'))
        {
            int at = line.IndexOf("time=", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            ReadOnlySpan<char> rest = line.AsSpan(at + 5);
            int space = rest.IndexOf(' ');
            if (double.TryParse(space < 0 ? rest : rest[..space], NumberStyles.Float, CultureInfo.InvariantCulture, out double ms))
            {
                rtts.Add(ms);
            }
        }

        if (rtts.Count == 0)
        {
            throw new BenchException($"no ping reply from {target}: {result}");
        }

        return new PingResult(rtts, count);
    }
}
