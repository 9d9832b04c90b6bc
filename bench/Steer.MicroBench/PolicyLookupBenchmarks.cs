using System.Globalization;
using BenchmarkDotNet.Attributes;
using Steer.MicroBench.Infrastructure;
using Steer.Policy;

namespace Steer.MicroBench;

/// <summary>
/// The per-packet policy decision the TUN pump makes: <see cref="SteeringPolicy.SteerPacket"/> and
/// <see cref="SteeringPolicy.TryDecidePacket"/> over 4,096 pre-built packets (3 IPv4 to 1 IPv6, half to addresses
/// inside rule networks; TCP, UDP and ICMP), against a mode-web policy of <see cref="Rules"/> random rules generated
/// like <c>PolicyScaleTests</c> (fixed seed: IPv4 and IPv6 networks, a fifth with ports, a tenth any-destination port
/// rules; duplicates dropped as a configuration's are). No addresses are learned from DNS. Results are per packet
/// (OperationsPerInvoke = 4,096). <see cref="SteerPacketFewFlows"/> decides the same number of packets for only 64
/// destinations (a few busy flows), so the tables it touches stay in the CPU caches; with 4,096 random destinations
/// over 10,000 rules most hash probes miss the caches.
/// </summary>
[MemoryDiagnoser]
public class PolicyLookupBenchmarks
{
    private const int Packets = 4096;
    private SteeringPolicy? _policy;
    private const int FewFlows = 64;
    private byte[][] _packets = [];
    private byte[][] _fewFlows = [];

    /// <summary>Configured rules (the mode's three web-port rules come on top).</summary>
    [Params(100, 10_000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(PolicyScenario.Seed);
        (SteeringPolicy policy, List<System.Net.IPNetwork> networks4, List<System.Net.IPNetwork> networks6) = PolicyScenario.CreatePolicy(random, Rules);
        _policy = policy;
        _packets = PolicyScenario.RandomPackets(random, Packets, networks4, networks6);
        _fewFlows = [.. Enumerable.Range(0, Packets).Select(i => _packets[i % FewFlows])];

        int tunnelled = _packets.Count(p => policy.SteerPacket(p));
        int byConfiguration = _packets.Count(p => policy.TryDecidePacket(p, out PolicyDecision d) && d.Rule.Origin == PolicyRuleOrigin.Configuration);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// policy: {policy.Rules.Count} rules; {Packets} packets: {tunnelled} tunnelled, {byConfiguration} decided by a configured rule"));
        if (tunnelled == 0 || tunnelled == Packets)
        {
            throw new InvalidOperationException("Every packet got the same decision: the scenario measures nothing useful.");
        }
    }

    /// <summary>What the pump calls: parse, look up, true when the packet goes through the tunnel.</summary>
    [Benchmark(OperationsPerInvoke = Packets)]
    public int SteerPacket()
    {
        SteeringPolicy policy = _policy!;
        int tunnelled = 0;
        foreach (byte[] packet in _packets)
        {
            tunnelled += policy.SteerPacket(packet) ? 1 : 0;
        }

        return tunnelled;
    }

    /// <summary><see cref="SteerPacket"/> over 4,096 packets to 64 destinations (the first 64 packets, repeated).</summary>
    [Benchmark(OperationsPerInvoke = Packets)]
    public int SteerPacketFewFlows()
    {
        SteeringPolicy policy = _policy!;
        int tunnelled = 0;
        foreach (byte[] packet in _fewFlows)
        {
            tunnelled += policy.SteerPacket(packet) ? 1 : 0;
        }

        return tunnelled;
    }

    /// <summary>The same decision with the deciding rule (for diagnostics and <c>steer policy explain</c>).</summary>
    [Benchmark(OperationsPerInvoke = Packets)]
    public int TryDecidePacket()
    {
        SteeringPolicy policy = _policy!;
        int sum = 0;
        foreach (byte[] packet in _packets)
        {
            if (policy.TryDecidePacket(packet, out PolicyDecision decision))
            {
                sum += (decision.IsTunnel ? 1 : 0) + decision.Rule.FirstPort;
            }
        }

        return sum;
    }

    /// <summary>Reference: only the header parsing both of the above start with (destination, protocol, port).</summary>
    [Benchmark(OperationsPerInvoke = Packets)]
    public int ParseOnly()
    {
        int sum = 0;
        foreach (byte[] packet in _packets)
        {
            if (SteeringPolicy.TryParsePacket(packet, out UInt128 destination, out bool isIPv6, out int protocol, out int port))
            {
                sum += (int)(uint)destination + (isIPv6 ? 1 : 0) + protocol + port;
            }
        }

        return sum;
    }
}
