using BenchmarkDotNet.Attributes;
using Steer.MicroBench.Infrastructure;
using Steer.Protocol;

namespace Steer.MicroBench;

/// <summary>
/// Protocol v1 framing over a batch of packets, the way the send loop batches them: write a 4-byte header and copy
/// the packet behind it, for 64 packets into one buffer; and the reverse, taking the frames apart with
/// <c>FrameCodec.TryReadFrame</c>. Results are per packet (OperationsPerInvoke = batch size).
/// </summary>
[MemoryDiagnoser]
public class FramingBenchmarks
{
    private const int BatchPackets = 64;
    private byte[] _packet = [];
    private byte[] _batch = [];

    /// <summary>Packet size: a small (ACK/DNS-sized) packet and a full-MTU one.</summary>
    [Params(64, 1400)]
    public int PacketSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _packet = TestPackets.IPv4(PacketSize);
        _batch = new byte[BatchPackets * (FrameCodec.HeaderSize + PacketSize)];
        WriteBatch();
    }

    /// <summary>Header + copy of each packet into the batch buffer.</summary>
    [Benchmark(OperationsPerInvoke = BatchPackets)]
    public int WriteBatch()
    {
        int used = 0;
        for (int i = 0; i < BatchPackets; i++)
        {
            FrameCodec.WriteHeader(_batch.AsSpan(used), FrameType.Data, _packet.Length);
            _packet.CopyTo(_batch.AsSpan(used + FrameCodec.HeaderSize));
            used += FrameCodec.HeaderSize + _packet.Length;
        }

        return used;
    }

    /// <summary>Parses every frame header of the batch and slices out the payloads.</summary>
    [Benchmark(OperationsPerInvoke = BatchPackets)]
    public int ReadBatch()
    {
        ReadOnlySpan<byte> rest = _batch;
        int payloadBytes = 0;
        while (FrameCodec.TryReadFrame(rest, out FrameType type, out int offset, out int length))
        {
            payloadBytes += type == FrameType.Data ? rest.Slice(offset, length).Length : 0;
            rest = rest[(offset + length)..];
        }

        return payloadBytes;
    }
}
