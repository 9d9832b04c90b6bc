using BenchmarkDotNet.Attributes;
using Steer.MicroBench.Infrastructure;
using Steer.Protocol;

namespace Steer.MicroBench;

/// <summary>
/// <c>FrameReader</c> (the receive loop's reader) over a <see cref="MemoryStream"/> holding 1,024 Data frames: each
/// invocation rewinds the stream and reads every frame. The reader is created once, as in a session, so its 256 KiB
/// buffer is not counted per packet. Results are per frame.
/// </summary>
[MemoryDiagnoser]
public class FrameReaderBenchmarks
{
    private const int Frames = 1024;
    private MemoryStream _stream = new();
    private FrameReader? _reader;

    /// <summary>Packet size carried by each frame.</summary>
    [Params(64, 1400)]
    public int PacketSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] packet = TestPackets.IPv4(PacketSize);
        byte[] data = new byte[Frames * (FrameCodec.HeaderSize + PacketSize)];
        for (int i = 0, used = 0; i < Frames; i++, used += FrameCodec.HeaderSize + PacketSize)
        {
            FrameCodec.WriteHeader(data.AsSpan(used), FrameType.Data, PacketSize);
            packet.CopyTo(data.AsSpan(used + FrameCodec.HeaderSize));
        }

        _stream = new MemoryStream(data, writable: false);
        _reader = new FrameReader(_stream);
    }

    /// <summary>Reads all 1,024 frames (the stream is consumed in 256 KiB reads, so frames straddle reads).</summary>
    [Benchmark(OperationsPerInvoke = Frames)]
    public async ValueTask<long> ReadAllFrames()
    {
        _stream.Position = 0;
        long payloadBytes = 0;
        while (await _reader!.ReadAsync(CancellationToken.None) is { } frame)
        {
            payloadBytes += frame.Payload.Length;
        }

        return payloadBytes;
    }

    [GlobalCleanup]
    public void Cleanup() => _stream.Dispose();
}
