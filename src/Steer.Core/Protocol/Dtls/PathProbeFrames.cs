using System.Buffers.Binary;

namespace Steer.Protocol.Dtls;

/// <summary>
/// The two frame types that exist only inside the DTLS channel (docs/protocol.md §6, path-MTU probing). They use the
/// frame header of §2, so a probe of size N is a record exactly as large as one carrying an N-byte IP packet:
/// <list type="bullet">
/// <item><c>0x14 PathProbe</c>: payload of N bytes (N ≥ 4) = sequence number (u32, big-endian) + zero padding.</item>
/// <item><c>0x15 PathProbeAck</c>: payload of 6 bytes = the probe's sequence number (u32) + its payload length N (u16).</item>
/// </list>
/// On the TLS connection they are unknown frame types (a protocol error there).
/// </summary>
internal static class PathProbeFrames
{
    /// <summary>Type byte of PathProbe.</summary>
    public const byte Probe = 0x14;

    /// <summary>Type byte of PathProbeAck.</summary>
    public const byte Ack = 0x15;

    /// <summary>PathProbe as a <see cref="FrameType"/> value, for <see cref="FrameCodec.WriteHeader"/>.</summary>
    public const FrameType ProbeType = (FrameType)Probe;

    /// <summary>PathProbeAck as a <see cref="FrameType"/> value.</summary>
    public const FrameType AckType = (FrameType)Ack;

    /// <summary>Bytes of the sequence number at the start of a probe (its smallest payload).</summary>
    public const int SequenceLength = 4;

    /// <summary>Payload length of a PathProbeAck.</summary>
    public const int AckLength = 6;

    /// <summary>True when the frame's type byte is PathProbe or PathProbeAck.</summary>
    public static bool IsProbeFrame(ReadOnlySpan<byte> frame) => frame.Length > 0 && frame[0] is Probe or Ack;

    /// <summary>Parses a whole probe frame (header + payload); false when the header or length is invalid.</summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, out byte type, out ReadOnlySpan<byte> payload)
    {
        type = 0;
        payload = default;
        if (frame.Length < FrameCodec.HeaderSize || frame[1] != 0
            || BinaryPrimitives.ReadUInt16BigEndian(frame[2..]) != frame.Length - FrameCodec.HeaderSize)
        {
            return false;
        }

        type = frame[0];
        payload = frame[FrameCodec.HeaderSize..];
        return type == Probe ? payload.Length >= SequenceLength : payload.Length == AckLength;
    }

    /// <summary>Writes the PathProbeAck payload for a PathProbe payload into <paramref name="ack"/> (6 bytes).</summary>
    public static bool TryAnswer(ReadOnlySpan<byte> probePayload, Span<byte> ack)
    {
        if (probePayload.Length < SequenceLength || probePayload.Length > ushort.MaxValue || ack.Length < AckLength)
        {
            return false;
        }

        probePayload[..SequenceLength].CopyTo(ack);
        BinaryPrimitives.WriteUInt16BigEndian(ack[SequenceLength..], (ushort)probePayload.Length);
        return true;
    }

    /// <summary>Reads a PathProbeAck payload.</summary>
    public static bool TryReadAck(ReadOnlySpan<byte> payload, out uint sequence, out int size)
    {
        sequence = 0;
        size = 0;
        if (payload.Length != AckLength)
        {
            return false;
        }

        sequence = BinaryPrimitives.ReadUInt32BigEndian(payload);
        size = BinaryPrimitives.ReadUInt16BigEndian(payload[SequenceLength..]);
        return true;
    }
}
