using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Steer.MicroBench.DnsLatency;
using Steer.MicroBench.Infrastructure;
using Steer.MicroBench.UdpGso;

namespace Steer.MicroBench;

/// <summary>
/// Runs the micro-benchmarks: <c>scripts/bench.sh micro [BenchmarkDotNet arguments]</c>, e.g.
/// <c>--filter '*' --job short</c> for a quick pass, or <c>--filter '*Tls*'</c> for one class.
/// <c>scripts/bench.sh micro dns-latency [--queries N ...]</c> runs the DNS stub latency measurement instead
/// (a plain console measurement over loopback sockets, not a BenchmarkDotNet benchmark), and
/// <c>scripts/bench.sh micro udp-gso [--datagrams N ...]</c> the cost per datagram of plain <c>sendmmsg</c> against
/// UDP segmentation offload (also console, loopback).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "dns-latency")
        {
            return DnsLatencyBenchmark.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "udp-gso")
        {
            return UdpGsoBenchmark.Run(args[1..]);
        }

        IConfig config = DefaultConfig.Instance
            .AddColumn(new ThroughputColumn());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
        return 0;
    }
}
