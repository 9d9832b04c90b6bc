using Steer.Configuration;
using Steer.Selection;
using static Steer.Core.Tests.Selection.SelectionTestData;

namespace Steer.Core.Tests.Selection;

public sealed class ProbeHistoryTests
{
    private static readonly GatewayEndpoint[] One = [Dc("lab-1")];

    [Fact]
    public void Window_minimum_covers_the_last_rounds_only()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(new ProbeHistoryOptions { WindowRounds = 3 }, time);
        AddRound(history, time, One, 10);
        AddRound(history, time, One, 30);
        AddRound(history, time, One, 20);
        Assert.Equal(Ms(10), history.GetStats(One[0]).WindowMinRtt);
        AddRound(history, time, One, 25);
        GatewayWindowStats stats = history.GetStats(One[0]);
        Assert.Equal(Ms(20), stats.WindowMinRtt);
        Assert.Equal(3, stats.Rounds);
        Assert.True(stats.IsHealthy);
    }

    [Fact]
    public void Rounds_older_than_the_window_duration_are_forgotten()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(new ProbeHistoryOptions { WindowDuration = TimeSpan.FromMinutes(5) }, time);
        AddRound(history, time, One, 10);
        time.Advance(TimeSpan.FromMinutes(3));
        AddRound(history, time, One, 40);
        Assert.Equal(Ms(10), history.GetStats(One[0]).WindowMinRtt);
        time.Advance(TimeSpan.FromMinutes(2.5));
        Assert.Equal(Ms(40), history.GetStats(One[0]).WindowMinRtt);
        time.Advance(TimeSpan.FromMinutes(3));
        GatewayWindowStats gone = history.GetStats(One[0]);
        Assert.Equal(ProbeState.NotProbed, gone.LastState);
        Assert.Null(gone.WindowMinRtt);
        Assert.False(gone.IsHealthy);
    }

    [Fact]
    public void Unhealthy_last_round_makes_it_unhealthy_and_counts_failures_but_slow_does_not()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        AddRound(history, time, One, 10);
        AddRound(history, time, One, [null]);
        GatewayWindowStats stats = history.GetStats(One[0]);
        Assert.False(stats.IsHealthy);
        Assert.Equal(Ms(10), stats.WindowMinRtt);
        Assert.Equal(1, stats.ConsecutiveFailures);
        Assert.Equal(ProbeState.NoAnswer, stats.LastState);

        history.Add(Failed(One[0], ProbeState.Slow, "slow"), time.GetUtcNow());
        AddRound(history, time, One, [null]);
        stats = history.GetStats(One[0]);
        Assert.Equal(2, stats.ConsecutiveFailures);
        Assert.Equal(1, stats.HealthyRounds);

        history.Clear();
        Assert.Equal(ProbeState.NotProbed, history.GetStats(One[0]).LastState);
    }

    [Fact]
    public void GetStats_keeps_the_given_order_and_reports_unprobed_gateways()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        AddRound(history, time, One, 10);
        IReadOnlyList<GatewayWindowStats> stats = history.GetStats([Dc("x"), One[0]]);
        Assert.Equal(["x", "lab-1"], stats.Select(s => s.Name));
        Assert.Equal(ProbeState.NotProbed, stats[0].LastState);
        Assert.Equal(ProbeState.Ok, stats[1].LastState);
    }
}
