using Steer.Protocol;

namespace Steer.Core.Tests.Protocol;

public class FrameCodecTests
{
    [Fact]
    public void Header_round_trips_type_and_length()
    {
        byte[] buffer = new byte[FrameCodec.HeaderSize + 300];
        FrameCodec.WriteHeader(buffer, FrameType.Data, 300);

        Assert.Equal(new byte[] { 0x10, 0x00, 0x01, 0x2C }, buffer[..4]);
        Assert.True(FrameCodec.TryReadFrame(buffer, out FrameType type, out int offset, out int length));
        Assert.Equal(FrameType.Data, type);
        Assert.Equal(4, offset);
        Assert.Equal(300, length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4 + 299)]
    public void Truncated_frame_needs_more_bytes(int available)
    {
        byte[] buffer = new byte[FrameCodec.HeaderSize + 300];
        FrameCodec.WriteHeader(buffer, FrameType.Data, 300);

        Assert.False(FrameCodec.TryReadFrame(buffer.AsSpan(0, available), out _, out _, out _));
    }

    [Fact]
    public void Oversized_payload_cannot_be_encoded()
    {
        byte[] buffer = new byte[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameCodec.WriteHeader(buffer, FrameType.Data, FrameCodec.MaxPayload + 1));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x04)]
    [InlineData(0x14)]
    [InlineData(0x7F)]
    [InlineData(0xFF)]
    public void Unknown_frame_type_is_a_protocol_error_naming_the_type(byte type)
    {
        byte[] buffer = [type, 0, 0, 0];
        var error = Assert.Throws<SteerProtocolException>(() => FrameCodec.TryReadFrame(buffer, out _, out _, out _));
        Assert.Contains($"0x{type:x2}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reserved_flags_are_rejected()
    {
        byte[] buffer = [0x10, 0x80, 0, 0];
        var error = Assert.Throws<SteerProtocolException>(() => FrameCodec.TryReadFrame(buffer, out _, out _, out _));
        Assert.Contains("reserved flags", error.Message, StringComparison.Ordinal);
    }
}
