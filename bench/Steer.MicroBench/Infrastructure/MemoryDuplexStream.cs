namespace Steer.MicroBench.Infrastructure;

/// <summary>One end of an in-memory duplex connection: reads from one <see cref="MemoryPipe"/>, writes to the other.</summary>
internal sealed class MemoryDuplexStream(MemoryPipe input, MemoryPipe output) : Stream
{
    /// <summary>Two connected ends.</summary>
    public static (MemoryDuplexStream A, MemoryDuplexStream B) CreatePair()
    {
        var aToB = new MemoryPipe();
        var bToA = new MemoryPipe();
        return (new MemoryDuplexStream(bToA, aToB), new MemoryDuplexStream(aToB, bToA));
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            int n = input.TryRead(buffer, out Task? wait);
            if (n >= 0)
            {
                return n;
            }

            wait!.GetAwaiter().GetResult();
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = input.TryRead(buffer.Span, out Task? wait);
        return n >= 0 ? new ValueTask<int>(n) : WaitAndReadAsync(wait!, buffer, cancellationToken);
    }

    public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer) => output.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        output.Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        output.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            output.Complete();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> WaitAndReadAsync(Task wait, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await wait.WaitAsync(cancellationToken);
            int n = input.TryRead(buffer.Span, out Task? next);
            if (n >= 0)
            {
                return n;
            }

            wait = next!;
        }
    }
}
