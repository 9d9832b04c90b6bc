using Steer.Protocol.Dtls;

namespace Steer.Core.Tests.Protocol;

/// <summary>
/// The path-MTU state machine against a simulated path, on a simulated clock (10 ms steps): deterministic, no
/// sockets, no sleeping.
/// </summary>
public sealed class PathMtuProberTests
{
    private static readonly PathMtuOptions Options = new() { BaseMtu = 1280, MaxMtu = 1400 };

    [Fact]
    public void Starts_at_the_base_and_reaches_the_session_mtu_in_one_round_trip_on_a_clean_path()
    {
        var path = new SimulatedPath(new PathMtuProber(Options)) { Limit = 1400 };
        Assert.Equal(1280, path.Prober.Mtu);
        Assert.Equal(PathMtuPhase.Searching, path.Prober.Phase);

        path.Run(200);

        Assert.Equal(1400, path.Prober.Mtu);
        Assert.Equal(PathMtuPhase.Complete, path.Prober.Phase);
        Assert.Equal(16, path.Prober.ProbesSent); // one ladder: 1400, 1392, ..., 1288 and the base
        Assert.Equal(0, path.Prober.BlackHoles);
    }

    [Fact]
    public void Finds_a_lower_path_limit_within_the_granularity_and_never_goes_above_it()
    {
        var path = new SimulatedPath(new PathMtuProber(Options)) { Limit = 1331 };

        path.Run(5_000);

        Assert.Equal(PathMtuPhase.Complete, path.Prober.Phase);
        Assert.InRange(path.Prober.Mtu, 1331 - 7, 1331);
        Assert.All(path.History, h => Assert.True(h.Mtu <= 1331, $"{h.Mtu} at {h.Time} ms"));
        Assert.True(path.FirstTime(m => m == path.Prober.Mtu) <= 100, "the largest answered rung counts at once");
        Assert.True(path.TimeOfPhase(PathMtuPhase.Complete) <= 3_500, "three counted losses of the rung above, 1 s each");
    }

    [Fact]
    public void Wide_range_is_refined_in_a_second_ladder()
    {
        var path = new SimulatedPath(new PathMtuProber(Options with { MaxMtu = 9000 })) { Limit = 4321 };

        path.Run(20_000);

        Assert.Equal(PathMtuPhase.Complete, path.Prober.Phase);
        Assert.InRange(path.Prober.Mtu, 4321 - 7, 4321);
        Assert.All(path.History, h => Assert.True(h.Mtu <= 4321));
    }

    [Fact]
    public void Random_loss_neither_lowers_the_result_nor_looks_like_a_black_hole()
    {
        var random = new Random(20240611);
        var path = new SimulatedPath(new PathMtuProber(Options)) { Limit = 1400, Lose = _ => random.NextDouble() < 0.10 };

        path.Run(60_000);

        Assert.Equal(1400, path.Prober.Mtu);
        Assert.Equal(0, path.Prober.BlackHoles);
        Assert.All(path.History.Where(h => h.Time > 1_000), h => Assert.True(h.Mtu >= 1280));
    }

    [Fact]
    public void Black_hole_drops_to_the_base_at_once_and_the_search_finds_the_new_limit()
    {
        var path = new SimulatedPath(new PathMtuProber(Options)) { Limit = 1400 };
        path.Run(10_000);
        Assert.Equal(1400, path.Prober.Mtu);

        long start = path.Now;
        path.Limit = 1300; // e.g. the route changed to a tunnel with a smaller MTU: 1400-byte records vanish
        path.Run(20_000);

        long fallback = path.FirstTime(m => m == 1280, after: start) - start;
        Assert.InRange(fallback, 1, 5_000 + 3_000 + 500); // next confirmation + MAX_PROBES timeouts
        Assert.Equal(1, path.Prober.BlackHoles);
        Assert.Equal(1296, path.Prober.Mtu); // the largest rung of 1400 - 8k at or below 1300
        Assert.Equal(PathMtuPhase.Complete, path.Prober.Phase);
        Assert.All(path.History.Where(h => h.Time > start + fallback), h => Assert.True(h.Mtu <= 1300));
    }

    [Fact]
    public void A_silent_peer_is_not_a_black_hole_and_nothing_is_probed_into_the_silence()
    {
        var path = new SimulatedPath(new PathMtuProber(Options)) { Limit = 1400 };
        path.Run(3_000);
        long sentBefore = path.Prober.ProbesSent;

        path.Up = false; // UDP blocked: nothing at all comes back, keepalives included
        path.Run(60_000);

        Assert.Equal(1400, path.Prober.Mtu);
        Assert.Equal(0, path.Prober.BlackHoles);
        Assert.True(path.Prober.ProbesSent - sentBefore <= 3, $"{path.Prober.ProbesSent - sentBefore} probes sent into a silent path");

        path.Up = true;
        path.Run(10_000);
        Assert.Equal(1400, path.Prober.Mtu);
        Assert.Equal(PathMtuPhase.Complete, path.Prober.Phase);
    }

    [Fact]
    public void A_path_that_drops_even_the_base_is_an_error_until_the_base_gets_through_again()
    {
        var path = new SimulatedPath(new PathMtuProber(Options)) { Limit = 1200 };

        path.Run(5_000);
        Assert.Equal(PathMtuPhase.Error, path.Prober.Phase);
        Assert.Equal(0, path.Prober.Mtu);

        path.Limit = 1400;
        long start = path.Now;
        path.Run(8_000);
        Assert.Equal(1400, path.Prober.Mtu);
        Assert.True(path.FirstTime(m => m == 1400, after: start) - start <= 5_000 + 100);
    }

    [Fact]
    public void Raise_timer_finds_a_larger_path_later()
    {
        var path = new SimulatedPath(new PathMtuProber(Options)) { Limit = 1300 };
        path.Run(5_000);
        Assert.Equal(1296, path.Prober.Mtu);

        path.Limit = 1400;
        path.Run(50_000);
        Assert.Equal(1296, path.Prober.Mtu); // not before the raise interval (60 s after the search ended)

        path.Run(15_000);
        Assert.Equal(1400, path.Prober.Mtu);
        Assert.Equal(0, path.Prober.BlackHoles);
    }

    [Fact]
    public void Session_mtu_below_the_base_is_probed_as_the_base()
    {
        var path = new SimulatedPath(new PathMtuProber(Options with { MaxMtu = 1200 })) { Limit = 1500 };
        Assert.Equal(1200, path.Prober.Mtu);

        path.Run(1_000);

        Assert.Equal(1200, path.Prober.Mtu);
        Assert.Equal(PathMtuPhase.Complete, path.Prober.Phase);
    }

    [Fact]
    public void Unknown_sequence_numbers_and_mismatched_sizes_are_ignored()
    {
        var prober = new PathMtuProber(Options);
        var sent = new List<(uint Sequence, int Size)>();
        prober.Tick(0, 0, (s, n) => sent.Add((s, n)));
        (uint sequence, int size) = sent.First(p => p.Size == 1400);

        Assert.False(prober.OnAck(0, 0));
        Assert.False(prober.OnAck(sequence + 1000, 1400));
        Assert.False(prober.OnAck(sequence, 1392));
        Assert.Equal(1280, prober.Mtu);

        Assert.True(prober.OnAck(sequence, size));
        Assert.Equal(1400, prober.Mtu);
        Assert.False(prober.OnAck(sequence, size)); // a duplicate changes nothing
        Assert.Equal(1, prober.ProbesAcked);
    }

    [Fact]
    public void Probe_frames_round_trip_and_bad_headers_are_refused()
    {
        byte[] probe = new byte[4 + 1300];
        probe[0] = PathProbeFrames.Probe;
        probe[2] = 1300 >> 8;
        probe[3] = 1300 & 0xff;
        probe[4] = 0xde;
        probe[5] = 0xad;
        probe[6] = 0xbe;
        probe[7] = 0xef;

        Assert.True(PathProbeFrames.IsProbeFrame(probe));
        Assert.True(PathProbeFrames.TryParse(probe, out byte type, out ReadOnlySpan<byte> payload));
        Assert.Equal(PathProbeFrames.Probe, type);
        byte[] ack = new byte[PathProbeFrames.AckLength];
        Assert.True(PathProbeFrames.TryAnswer(payload, ack));
        Assert.Equal(new byte[] { 0xde, 0xad, 0xbe, 0xef, 1300 >> 8, 1300 & 0xff }, ack);
        Assert.True(PathProbeFrames.TryReadAck(ack, out uint sequence, out int size));
        Assert.Equal(0xdeadbeefu, sequence);
        Assert.Equal(1300, size);

        Assert.False(PathProbeFrames.TryParse(probe.AsSpan(0, 100), out _, out _));        // length field says more
        probe[1] = 1;
        Assert.False(PathProbeFrames.TryParse(probe, out _, out _));                        // reserved flags
        Assert.False(PathProbeFrames.TryParse([PathProbeFrames.Ack, 0, 0, 2, 1, 2], out _, out _)); // ack of 2 bytes
        Assert.False(PathProbeFrames.TryParse([PathProbeFrames.Probe, 0, 0, 2, 1, 2], out _, out _)); // probe under 4 bytes
        Assert.False(PathProbeFrames.IsProbeFrame([0x10, 0, 0, 0]));
    }

    /// <summary>
    /// A path with a size limit and optional loss, a peer that answers every probe that arrives after
    /// <see cref="RttMillis"/>, and the peer's keepalive answers once a second while the path is up.
    /// </summary>
    private sealed class SimulatedPath(PathMtuProber prober)
    {
        private const long Step = 10;
        private readonly List<(long At, uint Sequence, int Size)> _inFlight = [];
        private long _nextTick;
        private long _lastHeard;

        public PathMtuProber Prober { get; } = prober;

        public int Limit { get; set; }

        public bool Up { get; set; } = true;

        public Func<int, bool> Lose { get; set; } = _ => false;

        public long RttMillis { get; set; } = 20;

        public long Now { get; private set; }

        public List<(long Time, int Mtu, PathMtuPhase Phase)> History { get; } = [];

        public void Run(long millis)
        {
            long end = Now + millis;
            while (Now < end)
            {
                Now += Step;
                bool kick = false;
                if (Up && Now % 1000 == 0)
                {
                    _lastHeard = Now; // the keepalive answer (small records always get through)
                }

                for (int i = _inFlight.Count - 1; i >= 0; i--)
                {
                    if (_inFlight[i].At <= Now)
                    {
                        (long _, uint sequence, int size) = _inFlight[i];
                        _inFlight.RemoveAt(i);
                        _lastHeard = Now;
                        kick |= Prober.OnAck(sequence, size);
                    }
                }

                if (kick || Now >= _nextTick)
                {
                    _nextTick = Prober.Tick(Now, _lastHeard, Send);
                    Assert.True(_nextTick > Now, "the prober asks to be called again later");
                }

                History.Add((Now, Prober.Mtu, Prober.Phase));
            }
        }

        public long FirstTime(Func<int, bool> condition, long after = 0) =>
            History.First(h => h.Time > after && condition(h.Mtu)).Time;

        public long TimeOfPhase(PathMtuPhase phase) => History.First(h => h.Phase == phase).Time;

        private void Send(uint sequence, int size)
        {
            if (Up && size <= Limit && !Lose(size))
            {
                _inFlight.Add((Now + RttMillis, sequence, size));
            }
        }
    }
}
