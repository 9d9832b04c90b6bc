using System.Globalization;
using Steer.Configuration;
using Steer.Selection;
using static Steer.Core.Tests.Selection.SelectionTestData;

namespace Steer.Core.Tests.Selection;

/// <summary>The selector's hysteresis, failover and reasons, on hand-made probe windows.</summary>
public sealed class DatacenterSelectorTests
{
    private static readonly GatewayEndpoint[] Gateways = [Dc("lab-1"), Dc("lab-2"), Dc("lab-3")];

    /// <summary>
    /// Rounds are "name=rtt" (ms; "-" for no answer) separated by spaces; a case runs every round through a one-round
    /// window (so the hysteresis rule alone decides) with "lab-1" as current, switching current when told to.
    /// </summary>
    public static TheoryData<string, string[], string, string> HysteresisCases => new()
    {
        { "clearly faster in two rounds switches on the second", ["lab-1=48.3 lab-2=12.1 lab-3=60", "lab-1=48.3 lab-2=12.1 lab-3=60"], "Kept,Switched", "lab-2 chosen: 12.1 ms vs lab-1 48.3 ms (≥10 ms and ≤2/3)" },
        { "only a few ms faster never switches", ["lab-1=20 lab-2=25 lab-3=16.8", "lab-1=20 lab-2=25 lab-3=16.8", "lab-1=20 lab-2=25 lab-3=16.8"], "Kept,Kept,Kept", "kept lab-1: lab-3 only 3.2 ms faster" },
        { "10 ms faster but above 2/3 keeps", ["lab-1=100 lab-2=80", "lab-1=100 lab-2=80", "lab-1=100 lab-2=80"], "Kept,Kept,Kept", "kept lab-1: lab-2 20.0 ms faster but 80.0 ms is not ≤2/3 of 100.0 ms" },
        { "below 2/3 but less than 10 ms keeps", ["lab-1=12 lab-2=6", "lab-1=12 lab-2=6"], "Kept,Kept", "kept lab-1: lab-2 only 6.0 ms faster" },
        { "current is fastest", ["lab-1=10 lab-2=30 lab-3=11", "lab-1=10 lab-2=30 lab-3=11"], "Kept,Kept", "kept lab-1: fastest (10.0 ms; next lab-3 11.0 ms)" },
        { "condition interrupted restarts the count", ["lab-1=50 lab-2=10", "lab-1=50 lab-2=45", "lab-1=50 lab-2=10", "lab-1=50 lab-2=10"], "Kept,Kept,Kept,Switched", "lab-2 chosen: 10.0 ms vs lab-1 50.0 ms (≥10 ms and ≤2/3)" },
        { "different better candidates still count as consecutive rounds", ["lab-1=60 lab-2=10 lab-3=20", "lab-1=60 lab-2=25 lab-3=12"], "Kept,Switched", "lab-3 chosen: 12.0 ms vs lab-1 60.0 ms (≥10 ms and ≤2/3)" },
        { "unhealthy current fails over at once", ["lab-1=- lab-2=30 lab-3=20"], "Failover", "lab-3 chosen: lab-1 unhealthy (no-answer: no answer to 3 UDP probes within 1000 ms); lab-3 20.0 ms" },
        { "unhealthy current without alternative is kept", ["lab-1=- lab-2=- lab-3=-"], "Kept", "kept lab-1: no healthy alternative" },
        { "no other healthy datacenter", ["lab-1=30 lab-2=- lab-3=-"], "Kept", "kept lab-1 (30.0 ms): no other healthy datacenter" },
        { "after a switch the new current needs the condition again", ["lab-1=50 lab-2=10", "lab-1=50 lab-2=10", "lab-1=5 lab-2=50", "lab-1=5 lab-2=50"], "Kept,Switched,Kept,Switched", "lab-1 chosen: 5.0 ms vs lab-2 50.0 ms (≥10 ms and ≤2/3)" },
    };

    [Theory]
    [MemberData(nameof(HysteresisCases))]
    public void Select_hysteresis_table(string description, string[] rounds, string expectedOutcomes, string expectedLastReason)
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(new ProbeHistoryOptions { WindowRounds = 1 }, time);
        var selector = new DatacenterSelector();
        string current = "lab-1";
        var outcomes = new List<string>();
        SelectionDecision? decision = null;
        foreach (string round in rounds)
        {
            AddRound(history, time, Gateways, Parse(round));
            decision = selector.Select(history.GetStats(Gateways), current);
            outcomes.Add(decision.Outcome.ToString());
            current = decision.Chosen?.Name ?? current;
        }

        Assert.True(string.Join(",", outcomes) == expectedOutcomes, $"{description}: got {string.Join(",", outcomes)}, expected {expectedOutcomes}");
        Assert.StartsWith(expectedLastReason, decision!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_noisy_alternating_samples_never_flap()
    {
        // Two equally distant datacenters whose samples alternate between 30 and 70 ms out of phase: every other round
        // the other one looks much faster on its own.
        foreach (int window in new[] { 1, 5 })
        {
            var time = new ManualTimeProvider();
            var history = new ProbeHistory(new ProbeHistoryOptions { WindowRounds = window }, time);
            var selector = new DatacenterSelector();
            GatewayEndpoint[] two = [Dc("lab-1"), Dc("lab-2")];
            string current = "lab-1";
            int switches = 0;
            for (int round = 0; round < 50; round++)
            {
                bool even = round % 2 == 0;
                AddRound(history, time, two, even ? 30 : 70, even ? 70 : 30);
                SelectionDecision decision = selector.Select(history.GetStats(two), current);
                if (decision.IsSwitch)
                {
                    switches++;
                    current = decision.Chosen!.Name;
                }
            }

            Assert.True(switches == 0, $"window {window}: {switches} switches");
            Assert.Equal("lab-1", current);
        }
    }

    [Fact]
    public void Select_noisy_samples_of_a_clearly_faster_datacenter_still_switch_through_the_window_minimum()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        var selector = new DatacenterSelector();
        GatewayEndpoint[] two = [Dc("lab-1"), Dc("lab-2")];
        AddRound(history, time, two, 50, 12);
        Assert.Equal(SelectionOutcome.Kept, selector.Select(history.GetStats(two), "lab-1").Outcome);
        AddRound(history, time, two, 52, 65); // one noisy sample: the window minimum of lab-2 stays 12 ms
        SelectionDecision decision = selector.Select(history.GetStats(two), "lab-1");
        Assert.Equal(SelectionOutcome.Switched, decision.Outcome);
        Assert.Equal("lab-2 chosen: 12.0 ms vs lab-1 50.0 ms (≥10 ms and ≤2/3)", decision.Reason);
        Assert.True(decision.IsSwitch);
    }

    [Fact]
    public void Select_called_again_without_a_new_round_does_not_count_it()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        var selector = new DatacenterSelector();
        AddRound(history, time, Gateways, 50, 10, 60);
        for (int i = 0; i < 5; i++)
        {
            SelectionDecision same = selector.Select(history.GetStats(Gateways), "lab-1");
            Assert.Equal(SelectionOutcome.Kept, same.Outcome);
            Assert.Equal(1, same.ConsecutiveRounds);
            Assert.Contains("round 1 of 2", same.Reason, StringComparison.Ordinal);
        }

        AddRound(history, time, Gateways, 50, 10, 60);
        Assert.Equal(SelectionOutcome.Switched, selector.Select(history.GetStats(Gateways), "lab-1").Outcome);
    }

    [Fact]
    public void Select_without_current_picks_the_lowest_rtt_with_priority_then_order_as_tie_breaks()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        AddRound(history, time, Gateways, 20, 20, 20);

        SelectionDecision byOrder = new DatacenterSelector().Select(history.GetStats(Gateways), null);
        Assert.Equal("lab-1", byOrder.Chosen!.Name);
        Assert.Equal(SelectionOutcome.Initial, byOrder.Outcome);
        Assert.Equal("lab-1 chosen: lowest RTT 20.0 ms (next lab-2 20.0 ms)", byOrder.Reason);
        Assert.False(byOrder.IsSwitch);

        var byPriority = new DatacenterSelector(new DatacenterSelectorOptions { Priority = g => g.Name == "lab-3" ? 0 : 1 });
        Assert.Equal("lab-3", byPriority.Select(history.GetStats(Gateways), null).Chosen!.Name);

        AddRound(history, time, Gateways, 20, 19.5, 20);
        Assert.Equal("lab-2", byPriority.Select(history.GetStats(Gateways), null).Chosen!.Name);
    }

    [Fact]
    public void Select_without_measurements_uses_priority_and_skips_wrong_pins()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        SelectionDecision unprobed = new DatacenterSelector().Select(history.GetStats(Gateways), null);
        Assert.Equal(SelectionOutcome.Unmeasured, unprobed.Outcome);
        Assert.Equal("lab-1", unprobed.Chosen!.Name);
        Assert.Equal("lab-1 chosen by configuration order: no healthy datacenter measured", unprobed.Reason);

        time.Advance(TimeSpan.FromSeconds(1));
        history.Add(new ProbeRound
        {
            StartedAt = time.GetUtcNow(),
            Elapsed = TimeSpan.FromSeconds(1),
            Results =
            [
                Failed(Gateways[0], ProbeState.WrongPin, "pin mismatch"),
                Failed(Gateways[1], ProbeState.NoAnswer),
                Failed(Gateways[2], ProbeState.NoAnswer),
            ],
        });
        var selector = new DatacenterSelector(new DatacenterSelectorOptions { Priority = g => g.Name == "lab-3" ? 1 : 2 });
        SelectionDecision decision = selector.Select(history.GetStats(Gateways), null);
        Assert.Equal("lab-3", decision.Chosen!.Name);
        Assert.Equal("lab-3 chosen by priority: no healthy datacenter measured", decision.Reason);
    }

    [Fact]
    public async Task Select_current_with_open_circuit_fails_over_and_all_ruled_out_gives_none()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(timeProvider: time);
        var health = new GatewayHealthRegistry(timeProvider: time);
        AddRound(history, time, Gateways, 10, 30, 20);
        for (int i = 0; i < 3; i++)
        {
            health.Get("lab-1").RecordFailure("connection reset");
        }

        SelectionDecision decision = new DatacenterSelector().Select(history.GetStats(Gateways), "lab-1", health);
        Assert.Equal(SelectionOutcome.Failover, decision.Outcome);
        Assert.Equal("lab-3", decision.Chosen!.Name);
        Assert.Contains("lab-1 unhealthy (circuit open until", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("connection reset", decision.Reason, StringComparison.Ordinal);

        await health.Get("lab-2").IsolateAsync("wrong pin", TestContext.Current.CancellationToken);
        await health.Get("lab-3").IsolateAsync("wrong pin", TestContext.Current.CancellationToken);
        SelectionDecision none = new DatacenterSelector().Select(history.GetStats(Gateways), "lab-1", health);
        Assert.Equal(SelectionOutcome.NoneAvailable, none.Outcome);
        Assert.Null(none.Chosen);
        Assert.StartsWith("no datacenter available: lab-1 circuit open", none.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new DatacenterSelector(new DatacenterSelectorOptions { MaxRatio = 1.5 }));
        Assert.Throws<ArgumentException>(() => new DatacenterSelector(new DatacenterSelectorOptions { RequiredRounds = 0 }));
        Assert.Throws<ArgumentException>(() => new DatacenterSelector(new DatacenterSelectorOptions { MinImprovement = TimeSpan.FromMilliseconds(-1) }));
    }

    [Fact]
    public void Thresholds_are_options()
    {
        var time = new ManualTimeProvider();
        var history = new ProbeHistory(new ProbeHistoryOptions { WindowRounds = 1 }, time);
        var selector = new DatacenterSelector(new DatacenterSelectorOptions
        {
            MinImprovement = TimeSpan.FromMilliseconds(2), MaxRatio = 0.9, RequiredRounds = 1,
        });
        AddRound(history, time, Gateways, 20, 17, 40);
        SelectionDecision decision = selector.Select(history.GetStats(Gateways), "lab-1");
        Assert.Equal(SelectionOutcome.Switched, decision.Outcome);
        Assert.Equal("lab-2 chosen: 17.0 ms vs lab-1 20.0 ms (≥2 ms and ≤0.9)", decision.Reason);
    }

    private static double?[] Parse(string round)
    {
        var rtts = new double?[Gateways.Length];
        foreach (string part in round.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = part.Split('=');
            int index = Array.FindIndex(Gateways, g => g.Name == kv[0]);
            rtts[index] = kv[1] == "-" ? null : double.Parse(kv[1], CultureInfo.InvariantCulture);
        }

        return rtts;
    }
}
