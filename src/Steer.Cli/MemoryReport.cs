using System.Globalization;
using System.Runtime;
using Microsoft.Extensions.Logging;

namespace Steer.Cli;

/// <summary>
/// Where <c>steer</c>'s memory is, logged at debug level (<c>-v</c>): the process's resident set split into anonymous
/// memory (GC heap, stacks, native allocations) and file-backed pages (the executable and shared libraries), its peak,
/// the thread count, and the GC's own view (heap size, committed, collections, bytes allocated so far).
/// </summary>
internal static partial class MemoryReport
{
    /// <summary>Logs one line when debug logging is on; <paramref name="when"/> says at which moment.</summary>
    public static void Log(ILogger logger, string when)
    {
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        ProcStatus proc = ProcStatus.Read();
        LogMemory(
            logger, when, Mib(proc.RssKib * 1024), Mib(proc.RssAnonKib * 1024), Mib(proc.RssFileKib * 1024), Mib(proc.PeakRssKib * 1024), proc.Threads,
            Mib(gc.HeapSizeBytes), Mib(gc.TotalCommittedBytes), Mib(GC.GetTotalAllocatedBytes()),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
            GCSettings.IsServerGC ? "server" : "workstation", GCSettings.LatencyMode.ToString());
    }

    private static double Mib(long bytes) => bytes / (1024.0 * 1024.0);

    [LoggerMessage(Level = LogLevel.Debug,
        Message = "Memory ({When}): RSS {RssMiB:0.0} MiB (anonymous {AnonMiB:0.0}, files {FileMiB:0.0}; peak {PeakMiB:0.0}), {Threads} threads; " +
                  "GC heap {HeapMiB:0.0} MiB, committed {CommittedMiB:0.0} MiB, allocated so far {AllocatedMiB:0.0} MiB, collections {Gen0}/{Gen1}/{Gen2}, {Flavor} GC, {LatencyMode}")]
    private static partial void LogMemory(
        ILogger logger, string when, double rssMiB, double anonMiB, double fileMiB, double peakMiB, int threads,
        double heapMiB, double committedMiB, double allocatedMiB, int gen0, int gen1, int gen2, string flavor, string latencyMode);

    /// <summary>The fields of <c>/proc/self/status</c> used here (zeros where they cannot be read: not Linux).</summary>
    private readonly record struct ProcStatus(long RssKib, long RssAnonKib, long RssFileKib, long PeakRssKib, int Threads)
    {
        public static ProcStatus Read()
        {
            if (!OperatingSystem.IsLinux())
            {
                return new ProcStatus(Environment.WorkingSet / 1024, 0, 0, 0, 0);
            }

            long rss = 0, anon = 0, file = 0, peak = 0;
            int threads = 0;
            try
            {
                foreach (string line in File.ReadLines("/proc/self/status"))
                {
                    int colon = line.IndexOf(':');
                    if (colon < 0)
                    {
                        continue;
                    }

                    ReadOnlySpan<char> value = line.AsSpan(colon + 1).Trim();
                    int space = value.IndexOf(' ');
                    long number = long.TryParse(space < 0 ? value : value[..space], NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : 0;
                    switch (line.AsSpan(0, colon))
                    {
                        case "VmRSS": rss = number; break;
                        case "RssAnon": anon = number; break;
                        case "RssFile": file = number; break;
                        case "VmHWM": peak = number; break;
                        case "Threads": threads = (int)number; break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }

            return new ProcStatus(rss, anon, file, peak, threads);
        }
    }
}
