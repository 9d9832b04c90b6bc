using Steer.Protocol;

namespace Steer.Core.Tests.Protocol;

public class FrameReaderTests
{
    private static byte[] Frames(params (FrameType Type, byte[] Payload)[] frames)
    {
        var stream = new MemoryStream();
        foreach (var (type, payload) in frames)
        {
            byte[] header = new byte[4];
            FrameCodec.WriteHeader(header, type, payload.Length);
            stream.Write(header);
            stream.Write(payload);
        }

        return stream.ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public async Task Reads_every_frame_whatever_the_read_sizes(int chunk)
    {
        var payloads = Enumerable.Range(0, 50).Select(i => Enumerable.Repeat((byte)i, i * 37 % 1500).ToArray()).ToArray();
        byte[] wire = Frames(payloads.Select(p => (FrameType.Data, p)).ToArray());
        var reader = new FrameReader(new ChunkedStream(wire, chunk));

        foreach (byte[] expected in payloads)
        {
            Frame? frame = await reader.ReadAsync(TestContext.Current.CancellationToken);
            Assert.NotNull(frame);
            Assert.Equal(FrameType.Data, frame.Value.Type);
            Assert.Equal(expected, frame.Value.Payload.ToArray());
        }

        Assert.Null(await reader.ReadAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Largest_frame_fits()
    {
        byte[] big = new byte[FrameCodec.MaxPayload];
        Random.Shared.NextBytes(big);
        var reader = new FrameReader(new ChunkedStream(Frames((FrameType.Data, big), (FrameType.Data, big)), 7000));

        Assert.Equal(big, (await reader.ReadAsync(TestContext.Current.CancellationToken))!.Value.Payload.ToArray());
        Assert.Equal(big, (await reader.ReadAsync(TestContext.Current.CancellationToken))!.Value.Payload.ToArray());
    }

    [Fact]
    public async Task End_of_stream_inside_a_frame_is_an_error()
    {
        byte[] wire = Frames((FrameType.Data, new byte[100]));
        var reader = new FrameReader(new ChunkedStream(wire[..50], 10));

        var error = await Assert.ThrowsAsync<SteerProtocolException>(async () => await reader.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Contains("middle of a frame", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_is_rejected_not_misread()
    {
        byte[] garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        var reader = new FrameReader(new ChunkedStream(garbage, 64));

        await Assert.ThrowsAsync<SteerProtocolException>(async () => await reader.ReadAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>A read-only stream that returns at most <c>chunk</c> bytes per read.</summary>
    private sealed class ChunkedStream(byte[] data, int chunk) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => data.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, chunk), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
