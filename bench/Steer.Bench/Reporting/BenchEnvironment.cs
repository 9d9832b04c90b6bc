using System.Diagnostics;

namespace Steer.Bench.Reporting;

/// <summary>What the numbers were measured on: machine, kernel, steer build, tools and the load of the machine.</summary>
internal sealed class BenchEnvironment
{
    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    public string Host { get; init; } = Environment.MachineName;

    public string Kernel { get; init; } = ReadFirstLine("/proc/sys/kernel/osrelease");

    public string Cpu { get; init; } = ReadCpuModel();

    public int ProcessorCount { get; init; } = Environment.ProcessorCount;

    public string Runtime { get; init; } = Environment.Version.ToString();

    public required string Steer { get; init; }

    public string? GitCommit { get; init; }

    public string? Iperf3Version { get; init; }

    public string? PingVersion { get; init; }

    /// <summary>/proc/loadavg when the run started: other work on the machine makes the numbers noisy.</summary>
    public string LoadAverageAtStart { get; init; } = ReadFirstLine("/proc/loadavg");

    /// <summary>/proc/loadavg when the run ended.</summary>
    public string LoadAverageAtEnd { get; set; } = "";

    public TimeSpan Elapsed { get; set; }

    public static string ReadFirstLine(string path)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault()?.Trim() ?? "";
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>Runs a short command and returns its first output line, or null when it fails.</summary>
    public static string? TryCommand(string file, params string[] args)
    {
        try
        {
            var startInfo = new ProcessStartInfo(file, args)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using Process? process = Process.Start(startInfo);
            if (process is null)
            {
                return null;
            }

            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                process.Kill();
                return null;
            }

            return process.ExitCode == 0 ? output.Split('\n').FirstOrDefault()?.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string ReadCpuModel()
    {
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }
}
