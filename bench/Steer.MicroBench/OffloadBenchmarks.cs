using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Steer.Tun.Linux.Offload;

namespace Steer.MicroBench;

/// <summary>
/// The user-space half of Linux TUN offloads (src/Steer.Tun/Linux/Offload): the Internet checksum (vectorized, and a
/// plain 16-bit-word loop as the baseline), and cutting one TCPv4 super-packet of <see cref="PacketSize"/> bytes
/// into 1,360-byte segments with their headers and full checksums (one operation = the whole super-packet; MB/s is
/// the super-packet's bytes per second).
/// </summary>
[MemoryDiagnoser]
public class OffloadBenchmarks
{
    private const int SegmentSize = 1360;
    private byte[] _packet = [];
    private byte[] _segment = [];
    private VirtioNetHeader _header;

    [Params(1400, 65535)]
    public int PacketSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _packet = new byte[PacketSize];
        new Random(1).NextBytes(_packet);
        _packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(_packet.AsSpan(2), (ushort)PacketSize);
        _packet[6] = 0x40;
        _packet[7] = 0;
        _packet[9] = 6;
        _packet[20 + 12] = 0x80; // TCP header of 32 bytes (timestamps)
        _segment = new byte[1500];
        _header = new VirtioNetHeader
        {
            Flags = VirtioNetHeader.FlagNeedsChecksum,
            GsoType = VirtioNetHeader.GsoTcpV4,
            HeaderLength = 52,
            GsoSize = SegmentSize,
            ChecksumStart = 20,
            ChecksumOffset = 16,
        };
    }

    [Benchmark(Baseline = true)]
    public ushort ChecksumScalar()
    {
        uint sum = 0;
        byte[] data = _packet;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)sum;
    }

    [Benchmark]
    public ushort Checksum() => InternetChecksum.Sum(_packet);

    [Benchmark]
    public int SplitSuperPacket()
    {
        if (TcpSegmenter.TryPlan(_packet, _header, out GsoPlan plan) != OffloadDropReason.None)
        {
            throw new InvalidOperationException("bad test packet");
        }

        int total = 0;
        for (int i = 0; i < plan.SegmentCount; i++)
        {
            total += TcpSegmenter.WriteSegment(_packet, plan, i, _segment);
        }

        return total;
    }
}
