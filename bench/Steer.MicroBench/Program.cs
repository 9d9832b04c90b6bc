using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Steer.MicroBench.Infrastructure;

namespace Steer.MicroBench;

/// <summary>
/// Runs the micro-benchmarks: <c>scripts/bench.sh micro [BenchmarkDotNet arguments]</c>, e.g.
/// <c>--filter '*' --job short</c> for a quick pass, or <c>--filter '*Tls*'</c> for one class.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        IConfig config = DefaultConfig.Instance
            .AddColumn(new ThroughputColumn());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
    }
}
