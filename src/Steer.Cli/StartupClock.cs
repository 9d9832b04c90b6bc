using System.Diagnostics;

namespace Steer.Cli;

/// <summary>
/// When <c>Main</c> was entered, for the phase timings <c>steer up -v</c> logs at debug level. The time before
/// <c>Main</c> (the runtime's own start, about 15–20 ms for the NativeAOT build on the lab machine) is not measured
/// here: the process start time in <c>/proc/self/stat</c> did not agree with the boot clock closely enough to be used.
/// </summary>
internal static class StartupClock
{
    private static long s_main;

    /// <summary>Records the moment <c>Main</c> was entered; call first thing.</summary>
    public static void MarkMain() => s_main = Stopwatch.GetTimestamp();

    /// <summary>Milliseconds since <c>Main</c> was entered.</summary>
    public static double SinceMainMs => Stopwatch.GetElapsedTime(s_main).TotalMilliseconds;
}
