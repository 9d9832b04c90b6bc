using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Steer.Bench.Reporting;
using Steer.Lab;

namespace Steer.Bench;

/// <summary>
/// Entry point of the lab benchmark (<c>scripts/bench.sh</c> builds Release and runs it). Prints a table and writes
/// <c>bench/results/&lt;timestamp&gt;.json</c>. Exit code 0 when every measurement produced a value (targets are
/// reported, never asserted), 1 when some failed, 2 when the lab could not run.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var runs = new Option<int>("--runs") { Description = "Runs per measurement (median, min and max are reported).", DefaultValueFactory = _ => 3 };
        var quick = new Option<bool>("--quick") { Description = "One run per measurement (same as --runs 1)." };
        var duration = new Option<int>("--duration", "-t") { Description = "Seconds per iperf3 run.", DefaultValueFactory = _ => 5 };
        var transport = new Option<string[]>("--transport")
        {
            Description = "Transport(s) to measure, passed to `steer up --transport` (e.g. tls, dtls; repeat or separate with commas). Default: none passed.",
            AllowMultipleArgumentsPerToken = true,
        };
        var only = new Option<string[]>("--only")
        {
            Description = "Run only these sections: routed, start, ping, tcp, udp (repeat or separate with commas).",
            AllowMultipleArgumentsPerToken = true,
        };
        var udpLength = new Option<int>("--udp-length") { Description = "UDP datagram size for iperf3 -l.", DefaultValueFactory = _ => 64 };
        var udpBitrate = new Option<string>("--udp-bitrate") { Description = "UDP offered rate for iperf3 -b (0 = as fast as the sender can).", DefaultValueFactory = _ => "0" };
        var pingCount = new Option<int>("--ping-count") { Description = "Pings per RTT run.", DefaultValueFactory = _ => 200 };
        var pingInterval = new Option<double>("--ping-interval") { Description = "Seconds between pings.", DefaultValueFactory = _ => 0.01 };
        var prefix = new Option<string>("--prefix") { Description = "Namespace prefix of the lab.", DefaultValueFactory = _ => "steer-bench-" };
        var output = new Option<string?>("--output", "-o") { Description = "Folder for the JSON result (default: bench/results in the repository)." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log the lab's processes to stderr." };

        var root = new RootCommand("Steer lab benchmark: iperf3 TCP/UDP, ping RTT, CPU per GB, RSS and start time through a real steer client and gateway in network namespaces (Linux, root).");
        foreach (Option option in new Option[] { runs, quick, duration, transport, only, udpLength, udpBitrate, pingCount, pingInterval, prefix, output, verbose })
        {
            root.Options.Add(option);
        }

        root.SetAction(async (parse, _) =>
        {
            BenchSections sections;
            try
            {
                sections = ParseSections(SplitList(parse.GetValue(only)));
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"bench: {ex.Message}");
                return 2;
            }

            var options = new BenchOptions
            {
                Runs = parse.GetValue(quick) ? 1 : parse.GetValue(runs),
                DurationSeconds = parse.GetValue(duration),
                Transports = SplitList(parse.GetValue(transport)),
                Sections = sections,
                UdpLength = parse.GetValue(udpLength),
                UdpBitrate = parse.GetValue(udpBitrate) ?? "0",
                PingCount = parse.GetValue(pingCount),
                PingInterval = parse.GetValue(pingInterval),
                Prefix = parse.GetValue(prefix) ?? "steer-bench-",
                OutputDirectory = parse.GetValue(output),
                Verbose = parse.GetValue(verbose),
            };
            return await RunAsync(options);
        });

        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static async Task<int> RunAsync(BenchOptions options)
    {
        if (options.Runs < 1 || options.DurationSeconds is < 1 or > 600 || options.PingCount is < 1 or > 100_000 ||
            options.PingInterval is < 0.002 or > 10 || options.UdpLength is < 16 or > 65000)
        {
            Console.Error.WriteLine("bench: out-of-range option (runs >= 1, duration 1-600 s, ping-count 1-100000, ping-interval 0.002-10 s, udp-length 16-65000)");
            return 2;
        }

        if (LabPrerequisites.GetUnmetReason(requireTun: true) is { } reason)
        {
            Console.Error.WriteLine($"bench: cannot run: {reason}");
            return 2;
        }

        if (LabPrerequisites.FindExecutable("iperf3") is null)
        {
            Console.Error.WriteLine("bench: cannot run: iperf3 is missing (scripts/install-deps.sh installs it)");
            return 2;
        }

        SteerExecutable steer;
        try
        {
            steer = SteerExecutable.Resolve();
        }
        catch (LabException ex)
        {
            Console.Error.WriteLine($"bench: {ex.Message} (scripts/bench.sh sets it to the Release build)");
            return 2;
        }

        // Ctrl+C and SIGTERM stop the measurements; the lab is then torn down before exiting.
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (!stop.IsCancellationRequested)
            {
                e.Cancel = true;
                stop.Cancel();
            }
        };
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        var environment = new BenchEnvironment
        {
            Steer = steer.ToString(),
            GitCommit = GitDescribe(),
            Iperf3Version = BenchEnvironment.TryCommand("iperf3", "--version"),
            PingVersion = LabPrerequisites.FindExecutable("ping") is null ? null : BenchEnvironment.TryCommand("ping", "-V"),
        };
        var results = new BenchResults();
        if (steer.ToString().Contains("/Debug/", StringComparison.Ordinal))
        {
            results.AddNote("steer is a Debug build: use scripts/bench.sh (Release) for numbers worth comparing");
        }

        results.AddNote($"2 cores are shared with everything else on the machine; load average at start: {environment.LoadAverageAtStart}");
        Console.Error.WriteLine($"bench: {options.Runs} run(s) per measurement, {options.DurationSeconds} s per iperf3 run, sections: {options.Sections}");

        using ILoggerFactory? logging = options.Verbose
            ? LoggerFactory.Create(b => b
                .SetMinimumLevel(LogLevel.Debug)
                .AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "HH:mm:ss.fff "))
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace))
            : null;
        var clock = Stopwatch.StartNew();
        int exitCode = 0;
        try
        {
            await new LabBench(options, results, logging).RunAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine("bench: stopped; partial results follow");
            exitCode = 1;
        }
        catch (Exception ex) when (ex is LabException or BenchException or TimeoutException)
        {
            Console.Error.WriteLine($"bench: {ex.Message}");
            results.AddNote($"aborted: {ex.Message}");
            exitCode = 2;
        }

        environment.Elapsed = clock.Elapsed;
        environment.LoadAverageAtEnd = BenchEnvironment.ReadFirstLine("/proc/loadavg");
        results.AddNote($"load average at end: {environment.LoadAverageAtEnd}");

        Console.WriteLine();
        Console.WriteLine(ReportWriter.FormatTable(results, options.Runs));
        foreach (string note in results.Notes)
        {
            Console.WriteLine($"note: {note}");
        }

        foreach (MetricResult r in results.Results.Where(r => r.Errors.Count > 0))
        {
            Console.WriteLine($"error: [{r.Scope}] {r.Definition.Key}: {r.Errors[0]}{(r.Errors.Count > 1 ? $" (+{r.Errors.Count - 1} more)" : "")}");
            exitCode = Math.Max(exitCode, 1);
        }

        string directory = options.OutputDirectory ?? DefaultOutputDirectory();
        Directory.CreateDirectory(directory);
        string file = Path.Combine(directory, environment.StartedAt.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + ".json");
        await using (FileStream stream = File.Create(file))
        {
            ReportWriter.WriteJson(stream, results, options, environment);
        }

        Console.WriteLine($"results: {file} ({clock.Elapsed.TotalSeconds:0} s)");
        return exitCode;
    }

    private static string[] SplitList(string[]? values)
        => values is null ? [] : [.. values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    private static BenchSections ParseSections(string[] names)
    {
        if (names.Length == 0)
        {
            return BenchSections.All;
        }

        BenchSections sections = BenchSections.None;
        foreach (string name in names)
        {
            sections |= Enum.TryParse(name, ignoreCase: true, out BenchSections section) && section != BenchSections.None
                ? section
                : throw new ArgumentException($"unknown section '{name}': use routed, start, ping, tcp, udp");
        }

        return sections;
    }

    /// <summary>bench/results of the repository around the current folder (or this program), else ./bench-results.</summary>
    private static string DefaultOutputDirectory()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Steer.sln")))
                {
                    return Path.Combine(dir.FullName, "bench", "results");
                }
            }
        }

        return Path.Combine(Environment.CurrentDirectory, "bench-results");
    }

    private static string? GitDescribe()
    {
        string? commit = BenchEnvironment.TryCommand("git", "-C", AppContext.BaseDirectory, "rev-parse", "--short", "HEAD");
        if (commit is null)
        {
            return null;
        }

        string? dirty = BenchEnvironment.TryCommand("git", "-C", AppContext.BaseDirectory, "status", "--porcelain", "--untracked-files=no");
        return string.IsNullOrEmpty(dirty) ? commit : commit + "+dirty";
    }
}
