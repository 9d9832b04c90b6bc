using System.Globalization;

namespace Steer.Bench.Probes;

/// <summary>Reads CPU time and resident memory of a process from /proc.</summary>
internal static class ProcessSample
{
    /// <summary>Clock ticks per second of /proc/&lt;pid&gt;/stat times (USER_HZ, 100 on every Linux build that matters).</summary>
    private static readonly double s_ticksPerSecond = ReadTicksPerSecond();

    /// <summary>User + system CPU seconds of <paramref name="pid"/> so far (fields 14 and 15 of /proc/&lt;pid&gt;/stat).</summary>
    public static double CpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");

        // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

        // fields[0] is field 3 (state), so field 14 (utime) is fields[11] and field 15 (stime) is fields[12].
        long utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        long stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) / s_ticksPerSecond;
    }

    /// <summary>VmRSS of <paramref name="pid"/> in bytes, or -1 when the process is gone.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    // "VmRSS:     12345 kB"
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    private static double ReadTicksPerSecond()
    {
        string? text = Reporting.BenchEnvironment.TryCommand("getconf", "CLK_TCK");
        return double.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out double ticks) && ticks > 0 ? ticks : 100;
    }
}
