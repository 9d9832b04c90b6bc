using System.Diagnostics;
using System.Text.Json;
using Steer.Lab;

namespace Steer.LabTests;

/// <summary>The DTLS data channel in the lab: carries the data, falls back to TLS when UDP is blocked, comes back.</summary>
[Collection(SteerLabCollection.Name)]
public sealed class DtlsTests(SteerLabFixture fixture, ITestOutputHelper output)
{
    private SteerLab Lab => fixture.Lab;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dtls_carries_the_data_and_the_gateway_udp_counters_grow()
    {
        fixture.SkipIfUnavailable();
        JsonElement gatewayBefore = await Lab.GatewayStatusAsync(Ct);
        await using LabProcess client = Lab.StartClient("dtls");
        await Lab.WaitForClientStateAsync(client, "connected", Ct);
        await WaitForTransportAsync("dtls", "dtls", TimeSpan.FromSeconds(10));

        (bool ok, string detail) = await DownloadIntactAsync(20_000_000, null);
        Assert.True(ok, detail);

        JsonElement status = await Lab.ClientStatusAsync("dtls", Ct);
        JsonElement gatewayAfter = await Lab.GatewayStatusAsync(Ct);
        output.WriteLine(status.ToString());
        Assert.Equal("dtls", status.GetProperty("transport").GetString());
        Assert.True(status.GetProperty("dtlsPacketsReceived").GetInt64() > 10_000, "the download came over DTLS");
        // Segments of the download that arrived in one receive batch entered the TUN as TCP super-packets.
        Assert.True(status.GetProperty("tunMergedPackets").GetInt64() > 1_000, "the download's segments were merged into super-packets");
        // The client's ACKs: its kernel acknowledges each merged super-packet (about 250 for 20 MB in runs here).
        long ackDatagrams = gatewayAfter.GetProperty("udpDatagrams").GetInt64() - gatewayBefore.GetProperty("udpDatagrams").GetInt64();
        Assert.True(ackDatagrams > 50, $"{ackDatagrams} datagrams from the client");
        JsonElement session = gatewayAfter.GetProperty("sessions").EnumerateArray().Single(s => s.GetProperty("deviceId").GetString() == "lab-dtls");
        Assert.Equal("dtls", session.GetProperty("transport").GetString());
        Assert.True(session.GetProperty("dtlsPacketsSent").GetInt64() > 10_000);

        // The other way: the gateway merges the upload's segments on its TUN.
        (ok, detail) = await UploadIntactAsync(20_000_000);
        Assert.True(ok, detail);
        session = Session(await Lab.GatewayStatusAsync(Ct), "lab-dtls");
        output.WriteLine(session.ToString());
        Assert.True(session.GetProperty("tunMergedPackets").GetInt64() > 1_000, "the upload's segments were merged into super-packets at the gateway");
        Assert.True(client.Terminate());
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
    }

    [Fact]
    public async Task Udp_blocked_mid_download_moves_data_to_tls_in_3_s_and_back_to_dtls_after()
    {
        fixture.SkipIfUnavailable();
        await using LabProcess client = Lab.StartClient("fallback");
        await Lab.WaitForClientStateAsync(client, "connected", Ct);
        await WaitForTransportAsync("fallback", "dtls", TimeSpan.FromSeconds(10));

        Task<(bool, string)> download = DownloadIntactAsync(150_000_000, "15M");
        await Task.Delay(2000, Ct);
        var blocked = Stopwatch.StartNew();
        await NftAsync("add table inet steer_test_block",
            "add chain inet steer_test_block out { type filter hook output priority 0; }",
            "add chain inet steer_test_block in { type filter hook input priority 0; }",
            "add rule inet steer_test_block out udp dport 443 drop",
            "add rule inet steer_test_block in udp sport 443 drop");
        try
        {
            TimeSpan toTls = await WaitForTransportAsync("fallback", "tls", TimeSpan.FromSeconds(10));
            output.WriteLine($"UDP blocked -> data on TLS after {toTls.TotalMilliseconds:0} ms (status polled every 100 ms)");
            Assert.True(toTls <= TimeSpan.FromSeconds(3.2), $"fallback took {toTls.TotalMilliseconds:0} ms");

            (bool ok, string detail) = await download;
            Assert.True(ok, detail);
            output.WriteLine($"download of 150 MB completed intact {blocked.Elapsed.TotalSeconds:0.0} s after the block");
        }
        finally
        {
            await NftAsync("delete table inet steer_test_block");
        }

        TimeSpan toDtls = await WaitForTransportAsync("fallback", "dtls", TimeSpan.FromSeconds(40));
        output.WriteLine($"UDP unblocked -> data back on DTLS after {toDtls.TotalSeconds:0.0} s (retry window 20-30 s)");
        JsonElement status = await Lab.ClientStatusAsync("fallback", Ct);
        Assert.True(status.GetProperty("transportSwitches").GetInt32() >= 3); // tls->dtls, dtls->tls, tls->dtls
        Assert.Equal(0, status.GetProperty("reconnects").GetInt32());
        Assert.True(client.Terminate());
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
    }

    [Fact]
    public async Task Garbage_and_replayed_datagrams_to_the_gateway_do_not_disturb_a_transfer()
    {
        fixture.SkipIfUnavailable();
        await using LabProcess client = Lab.StartClient("garbage");
        await Lab.WaitForClientStateAsync(client, "connected", Ct);
        await WaitForTransportAsync("garbage", "dtls", TimeSpan.FromSeconds(10));
        JsonElement before = await Lab.GatewayStatusAsync(Ct);
        long clientSentBefore = (await Lab.ClientStatusAsync("garbage", Ct)).GetProperty("dtlsPacketsSent").GetInt64();

        // Replays: the kernel sends a copy of every datagram the client sends to the gateway's UDP port (nftables
        // "dup"), from the same address and port, so each DTLS record arrives twice in the session's own flow. The
        // copies run for the whole download, so how many there are does not depend on how fast the flood below runs.
        await NftAsync("add table ip steer_test_dup",
            "add chain ip steer_test_dup out { type filter hook output priority 0; }",
            $"add rule ip steer_test_dup out ip daddr {Lab.Topology.GatewayAddress} udp dport 443 dup to {Lab.Topology.GatewayAddress}");
        LabCommandResult flood;
        bool ok;
        string detail;
        long clientSentDuringDup;
        try
        {
            Task<(bool, string)> download = DownloadIntactAsync(60_000_000, "10M");

            // Garbage from other ports: DTLS-looking handshake headers and plain junk.
            flood = await LabProcess.RunAsync(Lab.Topology.ClientNamespace, "bash",
                ["-c", $"exec 3>/dev/udp/{Lab.Topology.GatewayAddress}/443; for i in $(seq 1000); do printf \"\\x16\\xfe\\xfd\\x00$RANDOM%0$((RANDOM % 300 + 30))d\" 0 >&3; printf \"garbage$RANDOM%0$((RANDOM % 1300 + 1))d\" 0 >&3; done"],
                TimeSpan.FromSeconds(60), Ct);
            (ok, detail) = await download;
        }
        finally
        {
            await NftAsync("delete table ip steer_test_dup");
        }

        clientSentDuringDup = (await Lab.ClientStatusAsync("garbage", Ct)).GetProperty("dtlsPacketsSent").GetInt64() - clientSentBefore;
        await Task.Delay(500, Ct); // the last copies reach the gateway
        Assert.True(flood.Succeeded, flood.ToString());
        output.WriteLine(detail);
        Assert.True(ok, detail);
        JsonElement after = await Lab.GatewayStatusAsync(Ct);
        output.WriteLine(after.ToString());
        Assert.True(after.GetProperty("udpDropped").GetInt64() - before.GetProperty("udpDropped").GetInt64() >= 2000);
        long replayed = after.GetProperty("dtlsReplayedDropped").GetInt64() - before.GetProperty("dtlsReplayedDropped").GetInt64();
        output.WriteLine($"client sent {clientSentDuringDup} DTLS datagrams while they were duplicated; the gateway dropped {replayed} as replays");
        // Every copy is a replay; a copy may still be lost in a full socket buffer, so not all need arrive.
        // ACKs mostly: since the client merges the download into super-packets its kernel ACKs each of them, a few
        // hundred in all (509 in a run here).
        Assert.True(clientSentDuringDup >= 100, $"only {clientSentDuringDup} client datagrams during the download");
        Assert.True(replayed >= clientSentDuringDup / 2, $"{replayed} replayed records counted by the gateway of {clientSentDuringDup} duplicated");
        JsonElement status = await Lab.ClientStatusAsync("garbage", Ct);
        Assert.Equal("dtls", status.GetProperty("transport").GetString());
        Assert.Equal(0, status.GetProperty("reconnects").GetInt32());
        Assert.True(client.Terminate());
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
    }

    [Fact]
    public async Task Oversized_df_ping_gets_too_big_and_tcp_mss_is_clamped_to_the_tunnel()
    {
        fixture.SkipIfUnavailable();
        await using LabProcess client = Lab.StartClient("pmtu", null, "--interface-mtu", "1500");
        await Lab.WaitForClientStateAsync(client, "connected", Ct);
        await WaitForTransportAsync("pmtu", "dtls", TimeSpan.FromSeconds(10));
        await WaitForPathMtuAsync("pmtu", m => m == 1400, TimeSpan.FromSeconds(10)); // 1280 until the first probe answer

        LabCommandResult ping = await LabProcess.RunAsync(Lab.Topology.ClientNamespace, "ping",
            ["-c", "2", "-i", "0.3", "-W", "2", "-M", "do", "-s", "1400", Lab.Topology.InetAddress.ToString()], TimeSpan.FromSeconds(15), Ct);
        output.WriteLine(ping.StandardOutput + ping.StandardError);
        Assert.Contains("mtu = 1400", ping.StandardOutput + ping.StandardError, StringComparison.Ordinal);
        JsonElement status = await Lab.ClientStatusAsync("pmtu", Ct);
        Assert.True(status.GetProperty("packetsTooBig").GetInt64() >= 1);

        // The client's SYN advertises MSS 1460 (interface MTU 1500); the gateway must clamp it to 1360 so the
        // server's segments fit the 1400-byte tunnel. Look at the server's socket while a slow download runs.
        Task<(bool, string)> download = DownloadIntactAsync(8_000_000, "2M");
        LabCommandResult ss;
        System.Text.RegularExpressions.Match mss;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            await Task.Delay(250, Ct);
            ss = await LabProcess.RunAsync(Lab.Topology.InetNamespace, "ss", ["-tin", "sport", "=", ":80"], TimeSpan.FromSeconds(10), Ct);

            // "mss" is the server's send MSS: the clamped 1360 minus 12 bytes of TCP timestamps (unclamped: 1448).
            mss = System.Text.RegularExpressions.Regex.Match(ss.StandardOutput, @"\smss:(\d+)");
        }
        while (!mss.Success && waited.Elapsed < TimeSpan.FromSeconds(8));

        output.WriteLine(ss.StandardOutput);
        Assert.True(mss.Success, ss.StandardOutput);
        Assert.InRange(int.Parse(mss.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1300, 1360);
        (bool ok, string detail) = await download;
        Assert.True(ok, detail);
        Assert.True(client.Terminate());
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
    }

    [Fact]
    public async Task Path_mtu_reaches_the_session_mtu_and_settles_below_a_path_that_drops_large_datagrams()
    {
        fixture.SkipIfUnavailable();
        // The emulated path below is an nftables rule on the UDP length in the client namespace: it sees a GSO
        // super-datagram before the kernel cuts it into datagrams and would drop all of it, which no real path does.
        // The client sends without GSO here; the gateway's runs of small records (ACKs) stay under the limit or are
        // recovered by TCP.
        await using LabProcess client = Lab.StartClientWithEnvironment("pathmtu", new Dictionary<string, string?> { ["STEER_UDP_GSO"] = "0" });
        await Lab.WaitForClientStateAsync(client, "connected", Ct);
        await WaitForTransportAsync("pathmtu", "dtls", TimeSpan.FromSeconds(10));

        // Clean path: both directions probe up to the session MTU.
        TimeSpan up = await WaitForPathMtuAsync("pathmtu", m => m == 1400, TimeSpan.FromSeconds(10));
        await WaitForGatewayPathMtuAsync("lab-pathmtu", m => m == 1400, TimeSpan.FromSeconds(10));
        output.WriteLine($"clean path: client and gateway path MTU 1400 ({up.TotalMilliseconds:0} ms after DTLS was up)");

        // Now the path to the gateway's DTLS port drops UDP datagrams longer than 1380 bytes (UDP length), both ways:
        // a 1400-byte packet needs 1400 + 4 + 37 (DTLS, AES-GCM) + 8 = 1449. Small records still pass.
        const int udpLengthLimit = 1380;
        JsonElement gatewayBefore = Session(await Lab.GatewayStatusAsync(Ct), "lab-pathmtu");
        JsonElement clientBefore = await Lab.ClientStatusAsync("pathmtu", Ct);
        await NftAsync("add table inet steer_test_pmtu",
            "add chain inet steer_test_pmtu out { type filter hook output priority 0; }",
            "add chain inet steer_test_pmtu in { type filter hook input priority 0; }",
            $"add rule inet steer_test_pmtu out udp dport 443 udp length > {udpLengthLimit} drop",
            $"add rule inet steer_test_pmtu in udp sport 443 udp length > {udpLengthLimit} drop");
        try
        {
            // Largest inner packet that fits: 1380 - 8 (UDP) - 4 (frame) - 13 (header) - 16 (tag) [- 8 nonce with AES-GCM].
            const int fits = udpLengthLimit - 8 - 4 - 13 - 16;
            TimeSpan settled = await WaitForPathMtuAsync("pathmtu", m => m is >= 1280 and <= fits, TimeSpan.FromSeconds(30));
            await WaitForGatewayPathMtuAsync("lab-pathmtu", m => m is >= 1280 and <= fits, TimeSpan.FromSeconds(30));
            output.WriteLine($"large datagrams dropped -> client path MTU {await ClientPathMtuAsync("pathmtu")} after {settled.TotalSeconds:0.0} s (black hole detected, searched again)");

            // Gateway -> client: the server's 1400-byte segments are larger than the gateway's path MTU and go over TLS.
            (bool ok, string detail) = await DownloadIntactAsync(30_000_000, null);
            Assert.True(ok, detail);

            // Client -> gateway: the TUN answers 1400-byte packets with "too big", the sender's TCP adapts, data stays on DTLS.
            (ok, detail) = await UploadIntactAsync(20_000_000);
            Assert.True(ok, detail);

            JsonElement status = await Lab.ClientStatusAsync("pathmtu", Ct);
            JsonElement session = Session(await Lab.GatewayStatusAsync(Ct), "lab-pathmtu");
            output.WriteLine(status.ToString());
            output.WriteLine(session.ToString());
            Assert.Equal("dtls", status.GetProperty("transport").GetString());
            Assert.InRange(status.GetProperty("pathMtu").GetInt32(), 1280, fits);
            Assert.Equal(0, status.GetProperty("reconnects").GetInt32());
            Assert.True(status.GetProperty("packetsTooBig").GetInt64() > clientBefore.GetProperty("packetsTooBig").GetInt64(), "the upload's large packets were answered with too big");
            Assert.True(status.GetProperty("dtlsPacketsSent").GetInt64() - clientBefore.GetProperty("dtlsPacketsSent").GetInt64() > 10_000, "the upload went over DTLS");
            Assert.True(session.GetProperty("packetsTooBigForDtls").GetInt64() - gatewayBefore.GetProperty("packetsTooBigForDtls").GetInt64() > 10_000, "the download's large packets went over TLS");
        }
        finally
        {
            await NftAsync("delete table inet steer_test_pmtu");
        }

        Assert.True(client.Terminate());
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20), Ct));
    }

    private async Task<int?> ClientPathMtuAsync(string client)
    {
        JsonElement status = await Lab.ClientStatusAsync(client, Ct);
        return status.TryGetProperty("pathMtu", out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;
    }

    private async Task<TimeSpan> WaitForPathMtuAsync(string client, Func<int, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        int? last = null;
        while (clock.Elapsed < timeout)
        {
            last = await ClientPathMtuAsync(client);
            if (last is int mtu && condition(mtu))
            {
                return clock.Elapsed;
            }

            await Task.Delay(100, Ct);
        }

        throw new TimeoutException($"client {client}: path MTU still {last?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"} after {timeout.TotalSeconds} s");
    }

    private async Task WaitForGatewayPathMtuAsync(string deviceId, Func<int, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        JsonElement session = default;
        while (clock.Elapsed < timeout)
        {
            session = Session(await Lab.GatewayStatusAsync(Ct), deviceId);
            if (session.TryGetProperty("pathMtu", out JsonElement value) && value.ValueKind == JsonValueKind.Number && condition(value.GetInt32()))
            {
                return;
            }

            await Task.Delay(100, Ct);
        }

        throw new TimeoutException($"gateway session of {deviceId}: path MTU not reached after {timeout.TotalSeconds} s: {session}");
    }

    private static JsonElement Session(JsonElement gatewayStatus, string deviceId) =>
        gatewayStatus.GetProperty("sessions").EnumerateArray().Single(s => s.GetProperty("deviceId").GetString() == deviceId);

    /// <summary>
    /// Uploads N random bytes from the client namespace to a one-connection sink in the internet namespace (perl-base
    /// and coreutils only) and compares the SHA-256 of what was sent with what arrived.
    /// </summary>
    private async Task<(bool Ok, string Detail)> UploadIntactAsync(long bytes)
    {
        const int port = 9107;
        string inet = Lab.Topology.InetAddress.ToString();
        string file = Path.Combine(Lab.WorkDirectory, $"up-{Guid.NewGuid():N}.bin");
        string sinkScript = "perl -MIO::Socket::INET -e '" +
            $"my $s = IO::Socket::INET->new(LocalAddr => q({inet}), LocalPort => {port}, Listen => 1, ReuseAddr => 1) or die q(listen: ) . $!; " +
            "my $c = $s->accept or die q(accept: ) . $!; binmode $c; binmode STDOUT; my $b; while (sysread($c, $b, 65536)) { print $b }' | sha256sum";
        Task<LabCommandResult> sink = LabProcess.RunAsync(Lab.Topology.InetNamespace, "sh", ["-c", sinkScript], TimeSpan.FromSeconds(120), Ct);
        LabCommandResult send = await LabProcess.RunAsync(Lab.Topology.ClientNamespace, "bash",
            ["-c", $"head -c {bytes} /dev/urandom > {file} && sha256sum < {file} && for i in $(seq 50); do (cat {file} > /dev/tcp/{inet}/{port}) 2>/dev/null && exit 0; sleep 0.1; done; exit 1"],
            TimeSpan.FromSeconds(120), Ct);
        LabCommandResult received = await sink;
        File.Delete(file);
        string expected = send.StandardOutput.Split(' ')[0].Trim();
        string actual = received.StandardOutput.Split(' ')[0].Trim();
        return (send.Succeeded && received.Succeeded && expected.Length == 64 && expected == actual,
            $"sent sha256 {expected}, received {actual}; sender: {send}; sink: {received}");
    }

    private async Task<TimeSpan> WaitForTransportAsync(string client, string transport, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            JsonElement status = await Lab.ClientStatusAsync(client, Ct);
            if (status.GetProperty("transport").GetString() == transport)
            {
                return clock.Elapsed;
            }

            await Task.Delay(100, Ct);
        }

        throw new TimeoutException($"client {client} did not move to {transport} within {timeout.TotalSeconds} s");
    }

    /// <summary>Downloads N pattern bytes from the lab server and checks the SHA-256 the server announced.</summary>
    private async Task<(bool Ok, string Detail)> DownloadIntactAsync(long bytes, string? rateLimit)
    {
        string headers = Path.Combine(Lab.WorkDirectory, $"dl-{Guid.NewGuid():N}.headers");
        string limit = rateLimit is null ? "" : $"--limit-rate {rateLimit}";
        LabCommandResult result = await LabProcess.RunAsync(Lab.Topology.ClientNamespace, "sh",
            ["-c", $"curl -sS --max-time 120 {limit} -D {headers} 'http://{Lab.Topology.InetAddress}:{LabNames.HttpPort}/bytes?n={bytes}' | sha256sum"],
            TimeSpan.FromSeconds(130), Ct);
        if (!result.Succeeded || !File.Exists(headers))
        {
            return (false, result.ToString());
        }

        string expected = File.ReadAllLines(headers)
            .First(l => l.StartsWith(WhoAmIServer.Sha256HeaderName + ":", StringComparison.OrdinalIgnoreCase))[(WhoAmIServer.Sha256HeaderName.Length + 1)..].Trim().ToLowerInvariant();
        string actual = result.StandardOutput.Split(' ')[0];
        return (expected == actual, $"expected sha256 {expected}, got {actual}; {result.StandardError}");
    }

    private async Task NftAsync(params string[] commands)
    {
        foreach (string command in commands)
        {
            (await LabProcess.RunAsync(Lab.Topology.ClientNamespace, "nft", command.Split(' '), TimeSpan.FromSeconds(10), Ct)).EnsureSuccess();
        }
    }
}
