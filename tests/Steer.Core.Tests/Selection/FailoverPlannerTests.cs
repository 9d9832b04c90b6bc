using Steer.Configuration;
using Steer.Selection;
using static Steer.Core.Tests.Selection.SelectionTestData;

namespace Steer.Core.Tests.Selection;

public sealed class FailoverPlannerTests
{
    [Fact]
    public async Task Plan_orders_healthy_by_rtt_then_unknown_then_slow_then_failed_and_the_failed_one_last()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        GatewayEndpoint[] all = [.. new[] { "a", "b", "c", "d", "e", "f", "g", "h" }.Select(n => Dc(n))];
        time.Advance(TimeSpan.FromSeconds(1));
        history.Add(new ProbeRound
        {
            StartedAt = time.GetUtcNow(),
            Elapsed = TimeSpan.FromMilliseconds(100),
            Results =
            [
                Ok(all[0], 40),                                  // a: healthy, just failed
                Ok(all[1], 30),                                  // b: healthy
                Failed(all[2], ProbeState.NoAnswer),             // c: failed probe
                Failed(all[3], ProbeState.WrongPin, "pin"),      // d: wrong pin
                Ok(all[4], 10),                                  // e: healthy but circuit open
                Failed(all[5], ProbeState.Slow, "slow"),         // f: slow
                Ok(all[6], 20),                                  // g: healthy
                // h: not probed
            ],
        });
        var health = new GatewayHealthRegistry(timeProvider: time);
        await health.Get("e").IsolateAsync("manual", TestContext.Current.CancellationToken);

        FailoverPlan plan = FailoverPlanner.Plan(history.GetStats(all), health, failed: "a");

        Assert.Equal(["g", "b", "h", "f", "c", "a"], plan.Gateways.Select(g => g.Name));
        Assert.Equal(["d", "e"], plan.Excluded.Select(e => e.Gateway.Name));
        Assert.Equal("wrong pin", plan.Excluded[0].Reason);
        Assert.Equal("isolated: manual", plan.Excluded[1].Reason);
        Assert.Equal(
            "g (20.0 ms), b (30.0 ms), h (not probed), f (slow), c (no-answer), a (just failed); excluded: d (wrong pin), e (isolated: manual)",
            plan.Description);
    }

    [Fact]
    public void Plan_breaks_ties_by_priority_then_order()
    {
        GatewayEndpoint[] all = [Dc("a"), Dc("b"), Dc("c")];
        var history = new ProbeHistory();
        FailoverPlan byOrder = FailoverPlanner.Plan(history.GetStats(all));
        Assert.Equal(["a", "b", "c"], byOrder.Gateways.Select(g => g.Name));
        FailoverPlan byPriority = FailoverPlanner.Plan(history.GetStats(all), priority: g => g.Name == "c" ? 0 : 5);
        Assert.Equal(["c", "a", "b"], byPriority.Gateways.Select(g => g.Name));
        Assert.Empty(byPriority.Excluded);
    }
}
