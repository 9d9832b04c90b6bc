using Steer.Configuration;
using Steer.Selection;
using static Steer.Core.Tests.Selection.SelectionTestData;

namespace Steer.Core.Tests.Selection;

public sealed class ProbeScheduleTests
{
    private static readonly GatewayEndpoint[] Six = [.. Enumerable.Range(1, 6).Select(i => Dc($"dc-{i}"))];

    [Fact]
    public void Schedule_probes_all_first_then_top_three_plus_current_then_all_every_five_minutes()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        var schedule = new ProbeSchedule(timeProvider: time);

        ProbeRoundPlan first = schedule.GetNextRound(history.GetStats(Six), null);
        Assert.True(first.IsFull);
        Assert.Equal(time.GetUtcNow(), first.DueAt);
        Assert.Equal("first round", first.Reason);
        Assert.Equal(6, first.Gateways.Count);

        AddRound(history, time, Six, 50, 10, 40, 30, 20, null);
        schedule.RoundCompleted(first);
        DateTimeOffset fullAt = time.GetUtcNow();

        ProbeRoundPlan partial = schedule.GetNextRound(history.GetStats(Six), "dc-1");
        Assert.False(partial.IsFull);
        Assert.Equal(fullAt + TimeSpan.FromSeconds(60), partial.DueAt);
        Assert.Equal(["dc-1", "dc-2", "dc-4", "dc-5"], partial.Gateways.Select(g => g.Name)); // top 3 by RTT + current, config order
        Assert.Equal("top 3 + current every 60 s", partial.Reason);

        for (int i = 1; i < 5; i++)
        {
            time.Advance(TimeSpan.FromSeconds(60));
            ProbeRoundPlan plan = schedule.GetNextRound(history.GetStats(Six), "dc-1");
            Assert.False(plan.IsFull);
            schedule.RoundCompleted(plan);
        }

        ProbeRoundPlan full = schedule.GetNextRound(history.GetStats(Six), "dc-1");
        Assert.True(full.IsFull);
        Assert.Equal(fullAt + TimeSpan.FromMinutes(5), full.DueAt);
        Assert.Equal("all every 5 min", full.Reason);
    }

    [Fact]
    public async Task Network_change_makes_the_next_round_full_and_due_now_and_wakes_the_waiter()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        var schedule = new ProbeSchedule(timeProvider: time);
        ProbeRoundPlan first = schedule.GetNextRound(history.GetStats(Six), null);
        schedule.RoundCompleted(first);
        ProbeRoundPlan partial = schedule.GetNextRound(history.GetStats(Six), "dc-1");

        Task wait = schedule.WaitAsync(partial, TestContext.Current.CancellationToken);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(wait.IsCompleted);
        schedule.NetworkChanged();
        await wait.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        ProbeRoundPlan afterChange = schedule.GetNextRound(history.GetStats(Six), "dc-1");
        Assert.True(afterChange.IsFull);
        Assert.Equal("network changed", afterChange.Reason);
        Assert.Equal(time.GetUtcNow(), afterChange.DueAt);
        await schedule.WaitAsync(afterChange, TestContext.Current.CancellationToken); // due: returns at once
        schedule.RoundCompleted(afterChange);
        Assert.False(schedule.GetNextRound(history.GetStats(Six), "dc-1").IsFull);
    }

    [Fact]
    public async Task WaitAsync_honours_cancellation()
    {
        var schedule = new ProbeSchedule();
        ProbeRoundPlan first = schedule.GetNextRound([], null);
        schedule.RoundCompleted(first);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => schedule.WaitAsync(schedule.GetNextRound([], null), cts.Token));
    }
}
