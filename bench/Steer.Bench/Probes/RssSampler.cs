namespace Steer.Bench.Probes;

/// <summary>Samples a process's VmRSS every 100 ms in the background and keeps the maximum.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(100);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _max;

    public RssSampler(int pid)
    {
        _max = ProcessSample.RssBytes(pid);
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(s_interval);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    long rss = ProcessSample.RssBytes(pid);
                    if (rss > Interlocked.Read(ref _max))
                    {
                        Interlocked.Exchange(ref _max, rss);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>The largest VmRSS seen so far, in bytes.</summary>
    public long MaxBytes => Interlocked.Read(ref _max);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
