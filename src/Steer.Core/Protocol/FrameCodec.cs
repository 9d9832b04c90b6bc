using System.Buffers.Binary;

namespace Steer.Protocol;

/// <summary>
/// Encodes and decodes the 4-byte frame header of protocol v1: <c>type (1) | flags (1) | length (2, big-endian)</c>.
/// </summary>
internal static class FrameCodec
{
    /// <summary>Size of a frame header in bytes.</summary>
    public const int HeaderSize = 4;

    /// <summary>Largest payload a frame can carry.</summary>
    public const int MaxPayload = ushort.MaxValue;

    /// <summary>The only protocol version this implementation speaks.</summary>
    public const byte ProtocolVersion = 1;

    /// <summary>The TLS application protocol (ALPN) name of protocol v1.</summary>
    public const string Alpn = "steer/1";

    /// <summary>Writes a header for a frame of <paramref name="type"/> with <paramref name="payloadLength"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, FrameType type, int payloadLength)
    {
        if ((uint)payloadLength > MaxPayload)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength), payloadLength, $"A frame carries at most {MaxPayload} bytes.");
        }

        destination[0] = (byte)type;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
    }

    /// <summary>Encodes one whole frame (header + payload) into a new array; for the handshake, not the data path.</summary>
    public static byte[] Encode(FrameType type, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[HeaderSize + payload.Length];
        WriteHeader(frame, type, payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    /// <summary>
    /// Tries to take one frame from the front of <paramref name="buffer"/>.
    /// </summary>
    /// <returns>False when more bytes are needed.</returns>
    /// <exception cref="SteerProtocolException">The header names an unknown frame type or sets reserved flags.</exception>
    public static bool TryReadFrame(ReadOnlySpan<byte> buffer, out FrameType type, out int payloadOffset, out int payloadLength)
    {
        type = default;
        payloadOffset = HeaderSize;
        payloadLength = 0;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }

        type = ValidateType(buffer[0]);
        if (buffer[1] != 0)
        {
            throw new SteerProtocolException($"Frame of type {type} has reserved flags 0x{buffer[1]:x2} set; protocol v1 requires 0.");
        }

        payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        return buffer.Length >= HeaderSize + payloadLength;
    }

    private static FrameType ValidateType(byte value) => value switch
    {
        (byte)FrameType.Hello or (byte)FrameType.Welcome or (byte)FrameType.Error or (byte)FrameType.Data
            or (byte)FrameType.Keepalive or (byte)FrameType.KeepaliveAck or (byte)FrameType.Close => (FrameType)value,
        _ => throw new SteerProtocolException($"Unknown frame type 0x{value:x2}; protocol v1 knows 0x01-0x03 and 0x10-0x13."),
    };
}
