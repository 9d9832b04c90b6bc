using Steer.Selection;

namespace Steer.Core.Tests.Selection;

public sealed class GatewayHealthTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Repeated_failures_open_the_breaker_for_the_break_then_a_trial_closes_it()
    {
        var time = new ManualTimeProvider();
        var registry = new GatewayHealthRegistry(timeProvider: time);
        GatewayHealth health = registry.Get("lab-1");
        Assert.Equal(GatewayCircuitState.Closed, health.State);

        health.RecordFailure("connect timed out");
        health.RecordFailure("connect timed out");
        Assert.Equal(GatewayCircuitState.Closed, health.State);
        Assert.True(registry.IsAvailable("lab-1"));
        health.RecordFailure("connection refused");

        Assert.Equal(GatewayCircuitState.Open, health.State);
        Assert.False(health.IsAvailable);
        Assert.False(registry.IsAvailable("lab-1"));
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(30), health.OpenUntil);
        Assert.Equal("connection refused", health.Reason);
        Assert.Equal("circuit open until 12:00:30 after repeated failures: connection refused", health.Describe());

        time.Advance(TimeSpan.FromSeconds(29));
        health.RecordSuccess(); // ignored while open
        Assert.Equal(GatewayCircuitState.Open, health.State);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(GatewayCircuitState.HalfOpen, health.State);
        Assert.True(health.IsAvailable);
        health.RecordFailure("still down"); // the trial fails: open again for a break
        Assert.Equal(GatewayCircuitState.Open, health.State);
        Assert.Equal("still down", health.Reason);

        time.Advance(TimeSpan.FromSeconds(30));
        health.RecordSuccess(); // the trial succeeds
        Assert.Equal(GatewayCircuitState.Closed, health.State);
        Assert.Null(health.OpenUntil);
    }

    [Fact]
    public void Successes_in_between_keep_the_breaker_closed_and_old_failures_age_out()
    {
        var time = new ManualTimeProvider();
        GatewayHealth health = new GatewayHealthRegistry(new GatewayHealthOptions { FailureRatio = 0.75 }, time).Get("lab-1");
        health.RecordSuccess();
        health.RecordFailure("x");
        health.RecordSuccess();
        health.RecordFailure("x");
        Assert.Equal(GatewayCircuitState.Closed, health.State); // 2 of 4 failed < 0.75

        time.Advance(TimeSpan.FromMinutes(2)); // outside the 60 s sampling window
        health.RecordFailure("x");
        health.RecordFailure("x");
        Assert.Equal(GatewayCircuitState.Closed, health.State); // only 2 attempts in the window
        health.RecordFailure("x");
        Assert.Equal(GatewayCircuitState.Open, health.State);
    }

    [Fact]
    public async Task ExecuteAsync_counts_exceptions_refuses_while_open_and_ignores_caller_cancellation()
    {
        var time = new ManualTimeProvider();
        GatewayHealth health = new GatewayHealthRegistry(timeProvider: time).Get("lab-1");
        Assert.Equal(42, await health.ExecuteAsync(_ => ValueTask.FromResult(42), Ct));

        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            for (int i = 0; i < 5; i++)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => health.ExecuteAsync<int>(
                    ct => throw new OperationCanceledException(ct), cancelled.Token));
            }
        }

        Assert.Equal(GatewayCircuitState.Closed, health.State); // cancelled attempts are not failures

        // 1 success + 2 failures: 3 attempts, 2/3 failed >= 0.5.
        for (int i = 0; i < 2; i++)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => health.ExecuteAsync<int>(_ => throw new TimeoutException("handshake timed out"), Ct));
        }

        Assert.Equal(GatewayCircuitState.Open, health.State);
        var refused = await Assert.ThrowsAsync<GatewayUnavailableException>(() => health.ExecuteAsync(_ => ValueTask.FromResult(1), Ct));
        Assert.Equal("lab-1", refused.GatewayName);
        Assert.Equal(GatewayCircuitState.Open, refused.State);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.RetryAfter);
        Assert.Contains("handshake timed out", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Isolate_rules_out_until_reset()
    {
        GatewayHealth health = new GatewayHealthRegistry(timeProvider: new ManualTimeProvider()).Get("lab-1");
        await health.IsolateAsync("presented a wrong key pin", Ct);
        Assert.Equal(GatewayCircuitState.Isolated, health.State);
        Assert.False(health.IsAvailable);
        Assert.Equal("isolated: presented a wrong key pin", health.Describe());
        await Assert.ThrowsAsync<GatewayUnavailableException>(() => health.ExecuteAsync(_ => ValueTask.FromResult(1), Ct));

        await health.ResetAsync(Ct);
        Assert.Equal(GatewayCircuitState.Closed, health.State);
        Assert.Null(health.Reason);
    }

    [Fact]
    public void Registry_creates_breakers_once_and_validates_options()
    {
        var registry = new GatewayHealthRegistry();
        Assert.True(registry.IsAvailable("never-seen"));
        Assert.Empty(registry.Snapshot());
        Assert.Same(registry.Get("a"), registry.Get("a"));
        Assert.Single(registry.Snapshot());
        Assert.Throws<ArgumentException>(() => new GatewayHealthRegistry(new GatewayHealthOptions { MinimumAttempts = 1 }));
        Assert.Throws<ArgumentException>(() => new GatewayHealthRegistry(new GatewayHealthOptions { FailureRatio = 0 }));
        Assert.Throws<ArgumentException>(() => new GatewayHealthRegistry(new GatewayHealthOptions { BreakDuration = TimeSpan.FromMilliseconds(100) }));
    }
}
