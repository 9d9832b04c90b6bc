namespace Steer.Protocol;

/// <summary>
/// Reads frames from a stream through one reusable buffer: many frames per read, no allocation per frame.
/// A frame's payload is valid until the next call to <see cref="ReadAsync"/>.
/// </summary>
internal sealed class FrameReader
{
    private readonly Stream _stream;
    private readonly byte[] _buffer;
    private int _start;
    private int _end;

    public FrameReader(Stream stream, int bufferSize = 256 * 1024)
    {
        if (bufferSize < FrameCodec.HeaderSize + FrameCodec.MaxPayload)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferSize));
        }

        _stream = stream;
        _buffer = GC.AllocateUninitializedArray<byte>(bufferSize);
    }

    /// <summary>Reads the next frame.</summary>
    /// <returns>The frame, or <see langword="null"/> at a clean end of stream between frames.</returns>
    /// <exception cref="SteerProtocolException">Malformed frame, or the stream ended inside a frame.</exception>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (FrameCodec.TryReadFrame(_buffer.AsSpan(_start, _end - _start), out FrameType type, out int offset, out int length))
            {
                var frame = new Frame(type, _buffer.AsMemory(_start + offset, length));
                _start += offset + length;
                return frame;
            }

            if (_start > 0 && (_buffer.Length - _end) < FrameCodec.HeaderSize + FrameCodec.MaxPayload)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (_end == _start)
                {
                    return null;
                }

                throw new SteerProtocolException($"Connection closed in the middle of a frame ({_end - _start} bytes of it received).");
            }

            _end += read;
        }
    }

    /// <summary>True when the next <see cref="ReadAsync"/> returns a frame without reading from the stream.</summary>
    /// <exception cref="SteerProtocolException">The buffered bytes are not a valid frame header.</exception>
    public bool HasCompleteFrame => FrameCodec.TryReadFrame(_buffer.AsSpan(_start, _end - _start), out _, out _, out _);
}

/// <summary>One frame; <see cref="Payload"/> points into the reader's buffer.</summary>
internal readonly record struct Frame(FrameType Type, ReadOnlyMemory<byte> Payload);
