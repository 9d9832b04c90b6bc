using BenchmarkDotNet.Attributes;
using Steer.MicroBench.Infrastructure;
using Steer.Protocol;

namespace Steer.MicroBench;

/// <summary>
/// <see cref="IpPacket"/> reads that the client does for every packet it takes from the TUN device: the version,
/// whether the packet may be tunnelled, and its destination address. The batch mixes IPv4 and IPv6 unicast with
/// packets that must be dropped (multicast, broadcast, IPv6 link-local source). Results are per packet.
/// </summary>
/// <remarks>
/// Policy lookup (destination → through the tunnel or not) is <see cref="PolicyLookupBenchmarks"/>.
/// </remarks>
[MemoryDiagnoser]
public class IpPacketBenchmarks
{
    private const int Packets = 256;
    private byte[][] _packets = [];

    [GlobalSetup]
    public void Setup()
    {
        UInt128 client = TestPackets.Ula(1, 2);
        byte[][] kinds =
        [
            TestPackets.IPv4(1400),
            TestPackets.IPv4(60, 0x08_08_08_08),
            TestPackets.IPv6(1400, client, TestPackets.Ula(2, 2)),
            TestPackets.IPv6(72, client, TestPackets.Ula(2, 0x53)),
            TestPackets.IPv4(60, 0xE0_00_00_FB), // 224.0.0.251 mDNS: multicast, dropped
            TestPackets.IPv4(60, 0xFF_FF_FF_FF), // limited broadcast, dropped
            TestPackets.IPv6(72, new UInt128(0xfe80_0000_0000_0000UL, 1), TestPackets.Ula(2, 2)), // link-local source, dropped
            TestPackets.IPv4(1400, 0xC6_12_02_63),
        ];
        _packets = [.. Enumerable.Range(0, Packets).Select(i => kinds[i % kinds.Length])];
    }

    [Benchmark(OperationsPerInvoke = Packets)]
    public int GetVersion()
    {
        int sum = 0;
        foreach (byte[] packet in _packets)
        {
            sum += IpPacket.GetVersion(packet);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Packets)]
    public int IsTunnelable()
    {
        int count = 0;
        foreach (byte[] packet in _packets)
        {
            count += IpPacket.IsTunnelable(packet) ? 1 : 0;
        }

        return count;
    }

    /// <summary>Version switch, then the IPv4 or IPv6 destination: what a route or policy lookup starts from.</summary>
    [Benchmark(OperationsPerInvoke = Packets)]
    public UInt128 ReadDestination()
    {
        UInt128 hash = 0;
        foreach (byte[] packet in _packets)
        {
            hash ^= IpPacket.GetVersion(packet) switch
            {
                4 => IpPacket.GetIPv4Destination(packet),
                6 => IpPacket.GetIPv6Destination(packet),
                _ => 0,
            };
        }

        return hash;
    }
}
