using System.Globalization;
using System.Text.Json;
using Steer.Lab;

namespace Steer.Bench.Probes;

/// <summary>One iperf3 test: direction, streams, TCP or UDP.</summary>
internal sealed record Iperf3Test(int DurationSeconds, bool Reverse = false, int Streams = 1, bool Udp = false, int UdpLength = 64, string UdpBitrate = "0");

/// <summary>What the receiving side of an iperf3 test saw.</summary>
/// <param name="BitsPerSecond">Receiver goodput.</param>
/// <param name="Bytes">Bytes the receiver got.</param>
/// <param name="Seconds">Length of the test at the receiver.</param>
/// <param name="Packets">UDP only: datagrams the sender numbered up to the last one seen (received + lost).</param>
/// <param name="LostPackets">UDP only: datagrams missing at the receiver.</param>
/// <param name="Retransmits">TCP only: retransmits of the sender (-1 when the sender's side is not reported).</param>
internal sealed record Iperf3Result(double BitsPerSecond, long Bytes, double Seconds, long Packets, long LostPackets, long Retransmits)
{
    /// <summary>UDP datagrams received per second.</summary>
    public double ReceivedPacketsPerSecond => Seconds > 0 ? (Packets - LostPackets) / Seconds : double.NaN;

    /// <summary>UDP loss in percent of the datagrams sent.</summary>
    public double LossPercent => Packets > 0 ? 100.0 * LostPackets / Packets : double.NaN;
}

/// <summary>Runs the iperf3 client in a lab namespace against the lab's iperf3 server and parses its JSON.</summary>
internal static class Iperf3
{
    /// <summary>Runs <paramref name="test"/>; bounded by the test length plus a grace period, after which iperf3 is killed.</summary>
    public static async Task<Iperf3Result> RunAsync(string networkNamespace, string server, Iperf3Test test, CancellationToken ct)
    {
        var args = new List<string>
        {
            "-c", server, "-p", LabNames.Iperf3Port.ToString(CultureInfo.InvariantCulture),
            "-t", test.DurationSeconds.ToString(CultureInfo.InvariantCulture),
            "-J", "--connect-timeout", "3000",
        };
        if (test.Reverse)
        {
            args.Add("-R");
        }

        if (test.Streams > 1)
        {
            args.AddRange(["-P", test.Streams.ToString(CultureInfo.InvariantCulture)]);
        }

        if (test.Udp)
        {
            args.AddRange(["-u", "-l", test.UdpLength.ToString(CultureInfo.InvariantCulture), "-b", test.UdpBitrate]);
        }

        TimeSpan timeout = TimeSpan.FromSeconds(test.DurationSeconds + 20);
        LabCommandResult result = await LabProcess.RunAsync(networkNamespace, "iperf3", args, timeout, ct);
        return Parse(result, test.Udp);
    }

    internal static Iperf3Result Parse(LabCommandResult result, bool udp)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(result.StandardOutput);
        }
        catch (JsonException ex)
        {
            throw new BenchException($"iperf3 printed no JSON: {result}", ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("error", out JsonElement error))
            {
                throw new BenchException($"iperf3 failed: {error.GetString()}");
            }

            if (!result.Succeeded)
            {
                throw new BenchException(result.ToString());
            }

            JsonElement end = root.GetProperty("end");
            JsonElement received = end.GetProperty("sum_received");
            double bps = received.GetProperty("bits_per_second").GetDouble();
            long bytes = received.GetProperty("bytes").GetInt64();
            double seconds = received.GetProperty("seconds").GetDouble();
            if (udp)
            {
                return new Iperf3Result(bps, bytes, seconds, received.GetProperty("packets").GetInt64(), received.GetProperty("lost_packets").GetInt64(), -1);
            }

            long retransmits = end.TryGetProperty("sum_sent", out JsonElement sent) && sent.TryGetProperty("retransmits", out JsonElement r) ? r.GetInt64() : -1;
            return new Iperf3Result(bps, bytes, seconds, 0, 0, retransmits);
        }
    }
}
