namespace Steer.MicroBench.Infrastructure;

/// <summary>
/// One direction of an in-memory byte pipe: writes append, reads take what is there or wait for the next write.
/// No kernel, no socket: what a benchmark over it measures is the code above the stream (e.g. SslStream's
/// record encryption), not the transport.
/// </summary>
internal sealed class MemoryPipe
{
    private readonly Lock _gate = new();
    private byte[] _buffer = new byte[256 * 1024];
    private int _start;
    private int _end;
    private bool _completed;
    private TaskCompletionSource? _waiter;

    public void Write(ReadOnlySpan<byte> data)
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            if (_buffer.Length - _end < data.Length)
            {
                int length = _end - _start;
                if (_buffer.Length - length < data.Length)
                {
                    Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, length + data.Length));
                }

                Buffer.BlockCopy(_buffer, _start, _buffer, 0, length);
                _start = 0;
                _end = length;
            }

            data.CopyTo(_buffer.AsSpan(_end));
            _end += data.Length;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }

    public void Complete()
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            _completed = true;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }

    /// <summary>Copies available bytes; returns -1 (with the task to wait for) when there are none yet.</summary>
    public int TryRead(Span<byte> destination, out Task? wait)
    {
        lock (_gate)
        {
            wait = null;
            if (_end > _start)
            {
                int n = Math.Min(destination.Length, _end - _start);
                _buffer.AsSpan(_start, n).CopyTo(destination);
                _start += n;
                if (_start == _end)
                {
                    _start = _end = 0;
                }

                return n;
            }

            if (_completed)
            {
                return 0;
            }

            _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _waiter.Task;
            return -1;
        }
    }
}
