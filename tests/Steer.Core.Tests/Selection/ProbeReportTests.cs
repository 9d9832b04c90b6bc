using System.Text.Json;
using Steer.Configuration;
using Steer.Selection;
using static Steer.Core.Tests.Selection.SelectionTestData;

namespace Steer.Core.Tests.Selection;

public sealed class ProbeReportTests
{
    private static ProbeReport Sample()
    {
        GatewayEndpoint one = Dc("lab-1", 4431);
        GatewayEndpoint two = Dc("lab-2", 4432);
        GatewayEndpoint three = Dc("lab-3", 4433);
        var round = new ProbeRound
        {
            StartedAt = DateTimeOffset.UtcNow,
            Elapsed = TimeSpan.FromMilliseconds(123.456),
            Results =
            [
                Ok(one, 48.3),
                Ok(two, 12.1) with { Rtts = [Ms(12.1), Ms(14)], SamplesAnswered = 2, SamplesLost = 1, MedianRtt = Ms(13.05) },
                Failed(three, ProbeState.WrongPin, "Gateway 'lab-3' (127.0.0.1:4433) presented certificate key pin sha256/x, which is not in the tenant configuration"),
            ],
        };
        var history = new ProbeHistory();
        history.Add(round);
        SelectionDecision decision = new DatacenterSelector().Select(history.GetStats([one, two, three]), null);
        return ProbeReport.Create(round, decision, "acme");
    }

    [Fact]
    public void Json_has_every_datacenter_with_rtt_loss_state_reason_and_chosen()
    {
        string json = Sample().ToJson();
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        Assert.Equal("acme", root.GetProperty("tenant").GetString());
        Assert.Equal("lab-2", root.GetProperty("chosen").GetString());
        Assert.Equal("lab-2 chosen: lowest RTT 12.1 ms (next lab-1 48.3 ms)", root.GetProperty("reason").GetString());
        Assert.Equal(123.46, root.GetProperty("elapsedMs").GetDouble());
        JsonElement[] dcs = [.. root.GetProperty("datacenters").EnumerateArray()];
        Assert.Equal(3, dcs.Length);
        Assert.Equal("lab-1", dcs[0].GetProperty("name").GetString());
        Assert.Equal("127.0.0.1:4431", dcs[0].GetProperty("address").GetString());
        Assert.Equal("lab", dcs[0].GetProperty("location").GetString());
        Assert.Equal(48.3, dcs[0].GetProperty("rttMinMs").GetDouble());
        Assert.False(dcs[0].GetProperty("chosen").GetBoolean());
        Assert.True(dcs[1].GetProperty("chosen").GetBoolean());
        Assert.Equal(13.05, dcs[1].GetProperty("rttMedianMs").GetDouble());
        Assert.Equal(33.3, dcs[1].GetProperty("lossPercent").GetDouble());
        Assert.Equal("ok", dcs[1].GetProperty("state").GetString());
        Assert.Equal("wrong-pin", dcs[2].GetProperty("state").GetString());
        Assert.Equal(100, dcs[2].GetProperty("lossPercent").GetDouble());
        Assert.False(dcs[2].TryGetProperty("rttMinMs", out _)); // nulls are omitted
        Assert.Contains("presented certificate key pin", dcs[2].GetProperty("reason").GetString(), StringComparison.Ordinal);

        string indented = Sample().ToJson(indented: true);
        Assert.Contains("\n  \"tenant\": \"acme\"", indented, StringComparison.Ordinal);
        using JsonDocument again = JsonDocument.Parse(indented);
        Assert.Equal(3, again.RootElement.GetProperty("datacenters").GetArrayLength());
    }

    [Fact]
    public void Table_marks_the_chosen_datacenter_and_ends_with_the_decision()
    {
        string table = ProbeReportFormatter.FormatTable(Sample());
        string[] lines = table.TrimEnd('\n').Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("  DATACENTER  LOCATION  ADDRESS", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("  lab-1", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("* lab-2", lines[2], StringComparison.Ordinal);
        Assert.Contains("12.1 ms", lines[2], StringComparison.Ordinal);
        Assert.Contains("33%", lines[2], StringComparison.Ordinal);
        Assert.Contains("wrong-pin", lines[3], StringComparison.Ordinal);
        Assert.Equal("chosen: lab-2 (lab-2 chosen: lowest RTT 12.1 ms (next lab-1 48.3 ms)); probed in 123 ms", lines[4]);
        Assert.Equal(lines[1].IndexOf("ok", StringComparison.Ordinal), lines[3].IndexOf("wrong-pin", StringComparison.Ordinal));
    }
}
