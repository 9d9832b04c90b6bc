using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Steer.DnsStub;
using Steer.MicroBench.Infrastructure;
using Steer.Policy;

namespace Steer.MicroBench.DnsLatency;

/// <summary>
/// <c>Steer.MicroBench dns-latency</c>: the latency the DNS stub adds to a query. A <see cref="LoopbackDnsServer"/>
/// on 127.0.0.1 is the upstream; two <see cref="DnsStubResolver"/>s on 127.0.0.1 (port 0) forward to it (both
/// upstreams point there), one with an answer callback that does nothing, one whose callback does what the client's
/// does for a name it has seen before (<c>DomainMatcher.GetAllMatchingRules</c>,
/// <see cref="SteeringPolicy.AddResolvedAddresses"/>, the learned-address check under a lock; installing a route for a
/// new address is not included). A client sends UDP A queries one at a time and times each round trip with
/// <see cref="Stopwatch"/> timestamps: first to the server directly, then through each stub, in interleaved blocks so
/// that drifting load on the shared machine affects all paths alike. Prints p50/p90/p99/max per path and the
/// difference (stub − direct) of each percentile.
/// </summary>
internal static class DnsLatencyBenchmark
{
    private const string Usage = """
        usage: Steer.MicroBench dns-latency [--queries N] [--warmup N] [--block N] [--time-limit S] [--rules N]
          --queries     measured queries per path (default 20000)
          --warmup      unmeasured queries per path first (default 1000)
          --block       queries per path before switching to the next path (default 1000)
          --time-limit  seconds of measuring per path at most (default 60; the warm-up has its own, same limit)
          --rules       random network rules in the policy besides the domain rule (default 10000)
        """;

    private static readonly IPAddress s_answer = IPAddress.Parse("203.0.113.7");
    private static readonly TimeSpan s_receiveTimeout = TimeSpan.FromSeconds(1);

    public static int Run(string[] args)
    {
        int queries = 20_000, warmup = 1_000, block = 1_000, timeLimit = 60, ruleCount = 10_000;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help")
            {
                Console.WriteLine(Usage);
                return 0;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 0)
            {
                Console.Error.WriteLine($"dns-latency: {args[i]} needs a non-negative number\n{Usage}");
                return 2;
            }

            switch (args[i++])
            {
                case "--queries": queries = Math.Max(1, value); break;
                case "--warmup": warmup = value; break;
                case "--block": block = Math.Max(1, value); break;
                case "--time-limit": timeLimit = Math.Max(1, value); break;
                case "--rules": ruleCount = value; break;
                default:
                    Console.Error.WriteLine($"dns-latency: unknown option {args[i - 1]}\n{Usage}");
                    return 2;
            }
        }

        return RunAsync(queries, warmup, block, TimeSpan.FromSeconds(timeLimit), ruleCount).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int queries, int warmup, int block, TimeSpan timeLimit, int ruleCount)
    {
        DateTimeOffset started = DateTimeOffset.UtcNow;
        string loadBefore = LoadAverage();

        // The policy of the real-work callback: random network rules as in the policy benchmark, plus the domain rule
        // that steers the names asked for (so the stubs send them to the "tunnel" upstream and call OnSteeredAnswer).
        PolicyRule domainRule = PolicyRule.Parse("*.bench.test", PolicyRuleKind.Include);
        (SteeringPolicy policy, _, _) = PolicyScenario.CreatePolicy(new Random(PolicyScenario.Seed), ruleCount, domainRule);
        var learned = new Dictionary<UInt128, long>();
        var learnedLock = new Lock();
        ValueTask PolicyCallback(DnsResolvedAddresses answer, CancellationToken cancellationToken)
        {
            // What SteerClient.OnDnsAnswer does for an address it has routed already.
            PolicyRule[] rules = policy.Domains.GetAllMatchingRules(answer.Name);
            if (rules.Length == 0)
            {
                return ValueTask.CompletedTask;
            }

            policy.AddResolvedAddresses(answer.Name, answer.Addresses);
            long now = Environment.TickCount64;
            Span<byte> bytes = stackalloc byte[16];
            lock (learnedLock)
            {
                foreach ((IPAddress address, TimeSpan ttl) in answer.Addresses)
                {
                    address.TryWriteBytes(bytes, out int written);
                    UInt128 key = written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
                    long expires = now + (long)Math.Max(ttl.TotalMilliseconds, TimeSpan.FromMinutes(5).TotalMilliseconds);
                    learned[key] = learned.TryGetValue(key, out long known) ? Math.Max(known, expires) : expires;
                }
            }

            return ValueTask.CompletedTask;
        }

        using var server = new LoopbackDnsServer(s_answer, (timeLimit * 6) + TimeSpan.FromSeconds(60));
        await using DnsStubResolver noopStub = await StartStubAsync(server.EndPoint, policy, static (_, _) => ValueTask.CompletedTask).ConfigureAwait(false);
        await using DnsStubResolver policyStub = await StartStubAsync(server.EndPoint, policy, PolicyCallback).ConfigureAwait(false);

        byte[][] names = [.. Enumerable.Range(0, 256).Select(i => DnsMessage.CreateQuery(0, $"h{i}.bench.test", DnsRecordType.A).ToArray())];
        QueryPath[] paths =
        [
            new("direct (server)", server.EndPoint),
            new("stub, no-op callback", noopStub.LocalEndPoint),
            new("stub, AddResolvedAddresses", policyStub.LocalEndPoint),
        ];

        try
        {
            if (!SelfCheck(paths, names[0]))
            {
                return 1;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"dns-latency: {queries:N0} sequential UDP A queries per path after {warmup:N0} warm-up, blocks of {block:N0}, at most {timeLimit.TotalSeconds:N0} s per path; policy {policy.Rules.Count:N0} rules"));
            Measure(paths, names, warmup, block, timeLimit, record: false);
            Measure(paths, names, queries, block, timeLimit, record: true);
            Report(paths, started, loadBefore, noopStub.Statistics, policyStub.Statistics, policy.ResolvedAddressCount);
            return paths.All(p => p.Rtts.Count > 0) ? 0 : 1;
        }
        finally
        {
            foreach (QueryPath path in paths)
            {
                path.Socket.Dispose();
            }
        }
    }

    private static ValueTask<DnsStubResolver> StartStubAsync(IPEndPoint upstream, SteeringPolicy policy,
        Func<DnsResolvedAddresses, CancellationToken, ValueTask> callback) =>
        DnsStubResolver.StartAsync(new DnsStubResolverOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            TunnelUpstream = upstream,
            DirectUpstream = upstream,
            Matcher = policy.Domains,
            UnmatchedNames = policy.UnmatchedNameResolution,
            OnSteeredAnswer = callback,
            OnExcludedAnswer = callback,
        });

    /// <summary>One query per path, checked: an answer with our id, NOERROR and the fixed address.</summary>
    private static bool SelfCheck(QueryPath[] paths, byte[] query)
    {
        foreach (QueryPath path in paths)
        {
            byte[] copy = [.. query];
            bool good = Query(path.Socket, copy, 0x5EED, path.Receive, out int length, out _) == Outcome.Answered
                && DnsMessage.TryParse(path.Receive.AsSpan(0, length), out DnsMessage? answer, out _)
                && answer.GetAnswerAddresses() is [var only]
                && only.Address.Equals(s_answer) && only.Ttl == TimeSpan.FromSeconds(60);
            if (!good)
            {
                Console.Error.WriteLine($"dns-latency: {path.Name} at {path.EndPoint} did not answer as expected");
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Sends <paramref name="count"/> queries per path, <paramref name="block"/> to one path, then the next, in turn;
    /// a path stops when it has spent <paramref name="timeLimit"/>.
    /// </summary>
    private static void Measure(QueryPath[] paths, byte[][] names, int count, int block, TimeSpan timeLimit, bool record)
    {
        long limit = (long)(timeLimit.TotalSeconds * Stopwatch.Frequency);
        var spent = new long[paths.Length];
        var done = new int[paths.Length];
        ushort id = 1;
        for (int round = 0; round <= (count / block) + 1; round++)
        {
            bool any = false;
            for (int p = 0; p < paths.Length; p++)
            {
                QueryPath path = paths[p];
                int end = Math.Min(count, done[p] + block);
                if (done[p] >= end || spent[p] >= limit)
                {
                    continue;
                }

                any = true;
                long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                long blockStart = Stopwatch.GetTimestamp();
                int n = done[p];
                for (; n < end && spent[p] + (Stopwatch.GetTimestamp() - blockStart) < limit; n++)
                {
                    byte[] query = names[n % names.Length];
                    Outcome outcome = Query(path.Socket, query, id++, path.Receive, out _, out long ticks);
                    if (!record)
                    {
                        continue;
                    }

                    if (outcome == Outcome.Answered)
                    {
                        path.Rtts.Add(ticks);
                    }
                    else
                    {
                        path.Errors[(int)outcome]++;
                    }
                }

                spent[p] += Stopwatch.GetTimestamp() - blockStart;
                if (record)
                {
                    path.AllocatedBytes += GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
                    path.Sent += n - done[p];
                }

                done[p] = n;
                if (n < end)
                {
                    Console.Error.WriteLine($"dns-latency: {path.Name}: time limit reached after {n} queries");
                }
            }

            if (!any)
            {
                break;
            }
        }
    }

    private enum Outcome
    {
        Answered,
        TimedOut,
        BadAnswer,
        SocketError,
    }

    /// <summary>One round trip: send, then wait for the answer with this id (skipping late answers to earlier queries).</summary>
    private static Outcome Query(Socket socket, byte[] query, ushort id, byte[] receive, out int length, out long ticks)
    {
        BinaryPrimitives.WriteUInt16BigEndian(query, id);
        length = 0;
        ticks = 0;
        long start = Stopwatch.GetTimestamp();
        try
        {
            socket.Send(query);
            for (int stale = 0; stale < 16; stale++)
            {
                length = socket.Receive(receive);
                if (length < 12 || BinaryPrimitives.ReadUInt16BigEndian(receive) != id)
                {
                    continue; // A late answer to an earlier query.
                }

                ticks = Stopwatch.GetTimestamp() - start;
                bool good = (receive[2] & 0x80) != 0 && (receive[3] & 0x0F) == 0 && BinaryPrimitives.ReadUInt16BigEndian(receive.AsSpan(6)) == 1;
                return good ? Outcome.Answered : Outcome.BadAnswer;
            }

            return Outcome.BadAnswer;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut)
        {
            return Outcome.TimedOut;
        }
        catch (SocketException)
        {
            return Outcome.SocketError;
        }
    }

    private static void Report(QueryPath[] paths, DateTimeOffset started, string loadBefore, DnsStubStatistics noop, DnsStubStatistics withPolicy, int learned)
    {
        var ic = CultureInfo.InvariantCulture;
        double[][] stats = [.. paths.Select(p => Percentiles(p.Rtts))];
        Console.WriteLine();
        Console.WriteLine(string.Create(ic, $"{started:yyyy-MM-dd HH:mm} UTC, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores; load average before {loadBefore}, after {LoadAverage()}"));
        Console.WriteLine("Round-trip time per query in µs (nearest-rank percentiles); added = stub percentile − direct percentile (a max has no");
        Console.WriteLine("meaningful difference); allocated = bytes allocated in the process per query (client and server allocate none).");
        Console.WriteLine();
        Console.WriteLine("| path | answered | errors | p50 | p90 | p99 | max | allocated B/query |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (int i = 0; i < paths.Length; i++)
        {
            QueryPath p = paths[i];
            double[] s = stats[i];
            long errors = p.Errors.Sum();
            string alloc = p.Sent == 0 ? "-" : (p.AllocatedBytes / (double)p.Sent).ToString("N0", ic);
            Console.WriteLine(string.Create(ic, $"| {p.Name} | {p.Rtts.Count:N0} | {errors}{ErrorDetail(p)} | {s[0]:N1} | {s[1]:N1} | {s[2]:N1} | {s[3]:N1} | {alloc} |"));
        }

        for (int i = 1; i < paths.Length; i++)
        {
            double[] d = [.. stats[i].Zip(stats[0], (a, b) => a - b)];
            double alloc = paths[i].Sent == 0 || paths[0].Sent == 0 ? double.NaN
                : (paths[i].AllocatedBytes / (double)paths[i].Sent) - (paths[0].AllocatedBytes / (double)paths[0].Sent);
            Console.WriteLine(string.Create(ic, $"| **added**: {paths[i].Name} − direct | | | **{d[0]:N1}** | {d[1]:N1} | **{d[2]:N1}** | – | {alloc:N0} |"));
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(ic, $"stub counters (no-op / AddResolvedAddresses): queries {noop.Queries}/{withPolicy.Queries}, steered {noop.Steered}/{withPolicy.Steered}, dropped {noop.Dropped}/{withPolicy.Dropped}, upstream timeouts {noop.UpstreamTimeouts}/{withPolicy.UpstreamTimeouts}, failures {noop.UpstreamFailures}/{withPolicy.UpstreamFailures}, callback failures {noop.CallbackFailures}/{withPolicy.CallbackFailures}; addresses learned by the policy: {learned}"));
        Console.WriteLine(string.Create(ic, $"GC collections gen0/gen1/gen2: {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}; elapsed {(DateTimeOffset.UtcNow - started).TotalSeconds:N1} s"));
    }

    private static string ErrorDetail(QueryPath p) =>
        p.Errors.Sum() == 0 ? string.Empty
            : string.Create(CultureInfo.InvariantCulture, $" (timeout {p.Errors[(int)Outcome.TimedOut]}, bad {p.Errors[(int)Outcome.BadAnswer]}, socket {p.Errors[(int)Outcome.SocketError]})");

    /// <summary>p50, p90, p99 and max in microseconds, nearest rank.</summary>
    private static double[] Percentiles(List<long> ticks)
    {
        if (ticks.Count == 0)
        {
            return [double.NaN, double.NaN, double.NaN, double.NaN];
        }

        long[] sorted = [.. ticks];
        Array.Sort(sorted);
        double Rank(double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)] * 1e6 / Stopwatch.Frequency;
        return [Rank(50), Rank(90), Rank(99), sorted[^1] * 1e6 / Stopwatch.Frequency];
    }

    private static string LoadAverage()
    {
        try
        {
            string[] parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return string.Join(' ', parts.Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
        catch (UnauthorizedAccessException)
        {
            return "?";
        }
    }

    /// <summary>A path being measured: its own connected client socket, its samples and counters.</summary>
    private sealed class QueryPath
    {
        public QueryPath(string name, IPEndPoint endPoint)
        {
            Name = name;
            EndPoint = endPoint;
            Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
            {
                ReceiveTimeout = (int)s_receiveTimeout.TotalMilliseconds,
            };
            Socket.Connect(endPoint);
        }

        public string Name { get; }

        public IPEndPoint EndPoint { get; }

        public Socket Socket { get; }

        public byte[] Receive { get; } = new byte[DnsMessage.MaxSize];

        public List<long> Rtts { get; } = new(20_000);

        public long[] Errors { get; } = new long[4];

        public long AllocatedBytes { get; set; }

        public long Sent { get; set; }
    }
}
