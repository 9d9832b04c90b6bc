namespace Steer.Protocol.Dtls;

/// <summary>Tunables of <see cref="PathMtuProber"/> (sizes are inner packet sizes: a Data frame's payload).</summary>
internal sealed record PathMtuOptions
{
    /// <summary>The safe size used while the path is unknown: IPv6's minimum link MTU.</summary>
    public const int DefaultBaseMtu = 1280;

    /// <summary>Assumed usable before any probe is answered, and the floor after a black hole.</summary>
    public int BaseMtu { get; init; } = DefaultBaseMtu;

    /// <summary>The largest size searched for (the session MTU, capped by what one DTLS record can carry).</summary>
    public int MaxMtu { get; init; } = 1400;

    /// <summary>Counted losses after which a size is taken as too big (RFC 8899 MAX_PROBES).</summary>
    public int MaxProbes { get; init; } = 3;

    /// <summary>Most probes sent at once in one search round (the sizes of a ladder).</summary>
    public int MaxProbesPerRound { get; init; } = 16;

    /// <summary>The search stops when the gap between the largest answered and smallest failed size is below this.</summary>
    public int Granularity { get; init; } = 8;

    /// <summary>How long an unanswered probe is waited for.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the current size is re-confirmed (black-hole detection), and the base retried in the error state.</summary>
    public TimeSpan ConfirmInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long after a search that ended below <see cref="MaxMtu"/> a new search upward starts.</summary>
    public TimeSpan RaiseInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>No probe is sent while the peer has been silent for longer than this (the whole path is down, not a size).</summary>
    public TimeSpan SilenceLimit { get; init; } = TimeSpan.FromMilliseconds(2500);
}

/// <summary>Where <see cref="PathMtuProber"/> is.</summary>
internal enum PathMtuPhase
{
    /// <summary>Probe rounds are running (first search, after a black hole, or a periodic raise).</summary>
    Searching,

    /// <summary>The size is settled; it is re-confirmed every <see cref="PathMtuOptions.ConfirmInterval"/>.</summary>
    Complete,

    /// <summary>Not even the base size gets through (while small records do): the channel must not carry data.</summary>
    Error,
}

/// <summary>
/// Datagram packetization-layer path-MTU discovery for one direction of the DTLS channel, in the spirit of RFC 8899
/// (DPLPMTUD): the sender probes with padded records of candidate sizes that the peer acknowledges, raises its
/// packet size to the largest acknowledged one, re-confirms it periodically, and drops back to the base size when
/// full-size probes stop being answered while small records still are (a black hole). Pure logic: the caller
/// supplies the clock (milliseconds) and sends the probes, so it is deterministic under test.
/// </summary>
/// <remarks>
/// A search round sends a ladder of up to <see cref="PathMtuOptions.MaxProbesPerRound"/> sizes at once (one round
/// trip instead of one per size). A round only counts losses when something was heard from the peer since it began
/// (so a silent path is not mistaken for a size limit); a size lost <see cref="PathMtuOptions.MaxProbes"/> counted
/// times is too big. Thread-safe: <see cref="Tick"/> and <see cref="OnAck"/> may be called from different threads;
/// <see cref="Mtu"/> is a lock-free read.
/// </remarks>
internal sealed class PathMtuProber
{
    /// <summary>Sends one probe whose Data-frame-equivalent payload is <paramref name="size"/> bytes.</summary>
    public delegate void ProbeSender(uint sequence, int size);

    private const int IssuedSlots = 64;
    private const long SilentPollMillis = 250;

    private readonly Lock _lock = new();
    private readonly int _base;
    private readonly int _max;
    private readonly int _maxProbes;
    private readonly int _ladderSize;
    private readonly int _granularity;
    private readonly long _probeTimeout;
    private readonly long _confirmInterval;
    private readonly long _raiseInterval;
    private readonly long _silenceLimit;
    private readonly Rung[] _rungs;
    private readonly Issued[] _issued = new Issued[IssuedSlots];
    private int _rungCount;
    private uint _nextSequence = 1;
    private int _round;
    private bool _roundOpen;
    private bool _confirmRound;
    private long _roundStart;
    private long _roundDeadline;
    private int _confirmLosses;
    private long _nextAction;
    private long _nextRaise = long.MaxValue;
    private int _lo;
    private int _hi;
    private PathMtuPhase _phase;
    private volatile int _mtu;
    private long _probesSent;
    private long _probesAcked;
    private long _blackHoles;
    private long _searches;

    /// <summary>Starts in <see cref="PathMtuPhase.Searching"/> with <see cref="Mtu"/> = the base size; the first <see cref="Tick"/> probes.</summary>
    public PathMtuProber(PathMtuOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _max = Math.Max(options.MaxMtu, 1);
        _base = Math.Min(options.BaseMtu, _max);
        _maxProbes = Math.Max(options.MaxProbes, 1);
        _ladderSize = Math.Max(options.MaxProbesPerRound, 2);
        _granularity = Math.Max(options.Granularity, 1);
        _probeTimeout = (long)options.ProbeTimeout.TotalMilliseconds;
        _confirmInterval = (long)options.ConfirmInterval.TotalMilliseconds;
        _raiseInterval = (long)options.RaiseInterval.TotalMilliseconds;
        _silenceLimit = (long)options.SilenceLimit.TotalMilliseconds;
        _rungs = new Rung[_ladderSize];
        _mtu = _base;
        BeginSearch(0, _max);
    }

    /// <summary>
    /// The largest inner packet the path is known (or, before the first answer and after a black hole, assumed) to
    /// carry; 0 in <see cref="PathMtuPhase.Error"/>.
    /// </summary>
    public int Mtu => _mtu;

    /// <summary>The base size (the floor).</summary>
    public int BaseMtu => _base;

    /// <summary>The largest size searched for.</summary>
    public int MaxMtu => _max;

    /// <summary>Current phase.</summary>
    public PathMtuPhase Phase
    {
        get
        {
            lock (_lock)
            {
                return _phase;
            }
        }
    }

    /// <summary>Probes sent.</summary>
    public long ProbesSent => Interlocked.Read(ref _probesSent);

    /// <summary>Probes acknowledged.</summary>
    public long ProbesAcked => Interlocked.Read(ref _probesAcked);

    /// <summary>Black holes detected (full-size probes unanswered while small records were).</summary>
    public long BlackHoles => Interlocked.Read(ref _blackHoles);

    /// <summary>Searches started (the first, after black holes, periodic raises).</summary>
    public long Searches => Interlocked.Read(ref _searches);

    /// <summary>
    /// Advances the state machine: ends a round whose probes were all answered or timed out, starts the next one when
    /// due, and sends its probes through <paramref name="send"/>.
    /// </summary>
    /// <param name="now">Current time, milliseconds (any monotonic clock).</param>
    /// <param name="lastHeard">When anything was last received from the peer, same clock.</param>
    /// <param name="send">Sends one probe.</param>
    /// <returns>When to call again at the latest (same clock); <see cref="OnAck"/> returning true means "now".</returns>
    public long Tick(long now, long lastHeard, ProbeSender send)
    {
        ArgumentNullException.ThrowIfNull(send);
        lock (_lock)
        {
            if (_roundOpen && (now >= _roundDeadline || !HasOutstanding()))
            {
                EndRound(now, lastHeard);
            }

            bool silent = now - lastHeard > _silenceLimit;
            if (!_roundOpen && !silent)
            {
                StartRoundIfDue(now, send);
            }

            if (_roundOpen)
            {
                return _roundDeadline;
            }

            long next = _phase == PathMtuPhase.Searching ? now : Math.Min(_nextAction, _nextRaise);
            return next <= now ? now + SilentPollMillis : next;
        }
    }

    /// <summary>
    /// An acknowledgement from the peer for probe <paramref name="sequence"/> of <paramref name="size"/> bytes.
    /// Unknown sequence numbers or sizes that do not match what was sent are ignored.
    /// </summary>
    /// <returns>True when the caller should <see cref="Tick"/> now (the round is answered or the size changed).</returns>
    public bool OnAck(uint sequence, int size)
    {
        lock (_lock)
        {
            ref Issued issued = ref _issued[sequence % IssuedSlots];
            if (sequence == 0 || issued.Sequence != sequence || issued.Size != size || issued.Acked)
            {
                return false;
            }

            issued.Acked = true;
            Interlocked.Increment(ref _probesAcked);
            int before = _mtu;
            bool currentRound = _roundOpen && issued.Round == _round;
            if (currentRound)
            {
                for (int i = 0; i < _rungCount; i++)
                {
                    if (_rungs[i].Size == size)
                    {
                        _rungs[i].Acked = true;
                    }
                }
            }

            if (size > _lo)
            {
                _lo = size;
                _hi = Math.Max(_hi, size);
            }

            if (_confirmRound && currentRound)
            {
                _confirmLosses = 0;
            }

            if (_phase == PathMtuPhase.Error && _lo >= _base)
            {
                // The base got through again: search upward from it.
                _roundOpen = false;
                BeginSearch(_lo, _max);
            }

            Publish();
            return _mtu != before || (currentRound && !HasOutstanding());
        }
    }

    private bool HasOutstanding()
    {
        for (int i = 0; i < _rungCount; i++)
        {
            ref Rung rung = ref _rungs[i];
            if (rung.Sent && !rung.Acked && rung.Size > _lo)
            {
                return true;
            }
        }

        return false;
    }

    private void StartRoundIfDue(long now, ProbeSender send)
    {
        switch (_phase)
        {
            case PathMtuPhase.Searching:
                break;
            case PathMtuPhase.Complete when now >= _nextRaise && _lo < _max:
                BeginSearch(_lo, _max);
                break;
            case PathMtuPhase.Complete or PathMtuPhase.Error when now >= _nextAction:
                // One probe of the current size (black-hole detection), or of the base in the error state.
                _rungCount = 1;
                _rungs[0] = new Rung { Size = _phase == PathMtuPhase.Error ? _base : _lo };
                _confirmRound = true;
                break;
            default:
                return;
        }

        _round++;
        _roundOpen = true;
        _roundStart = now;
        _roundDeadline = now + _probeTimeout;
        for (int i = 0; i < _rungCount; i++)
        {
            ref Rung rung = ref _rungs[i];
            rung.Acked = false;
            rung.Sent = _confirmRound || (rung.Size > _lo && rung.Size <= _hi && rung.Losses < _maxProbes);
            if (rung.Sent)
            {
                uint sequence = _nextSequence++;
                if (_nextSequence == 0)
                {
                    _nextSequence = 1; // 0 is never issued, so an all-zero slot matches no acknowledgement.
                }

                _issued[sequence % IssuedSlots] = new Issued { Sequence = sequence, Size = rung.Size, Round = _round };
                Interlocked.Increment(ref _probesSent);
                send(sequence, rung.Size);
            }
        }
    }

    private void EndRound(long now, long lastHeard)
    {
        _roundOpen = false;
        bool heard = lastHeard > _roundStart;
        if (_confirmRound)
        {
            _confirmRound = false;
            bool answered = _rungs[0].Acked;
            if (answered)
            {
                _confirmLosses = 0;
                _nextAction = now + _confirmInterval;
            }
            else if (!heard)
            {
                _nextAction = now; // Inconclusive: the peer said nothing at all. Retry once it speaks again.
            }
            else if (++_confirmLosses < _maxProbes)
            {
                _nextAction = now; // Retry at once.
            }
            else if (_phase == PathMtuPhase.Complete)
            {
                // Black hole: full-size records stopped getting through while small ones still do.
                _confirmLosses = 0;
                Interlocked.Increment(ref _blackHoles);
                _lo = 0;
                BeginSearch(0, _max);
                Publish();
            }
            else
            {
                _confirmLosses = 0;
                _nextAction = now + _confirmInterval;
            }

            return;
        }

        bool remaining = false;
        for (int i = 0; i < _rungCount; i++)
        {
            ref Rung rung = ref _rungs[i];
            if (heard && rung.Sent && !rung.Acked && rung.Size > _lo && ++rung.Losses >= _maxProbes)
            {
                _hi = Math.Min(_hi, rung.Size - 1);
            }
        }

        for (int i = 0; i < _rungCount; i++)
        {
            ref Rung rung = ref _rungs[i];
            remaining |= rung.Size > _lo && rung.Size <= _hi && rung.Losses < _maxProbes;
        }

        if (remaining)
        {
            return; // Next round at once, with the sizes still open.
        }

        if (_lo < _base)
        {
            // Not even the base size got through, while the peer was heard: no data over this channel.
            _phase = PathMtuPhase.Error;
            _nextAction = now + _confirmInterval;
            _nextRaise = long.MaxValue;
        }
        else if (_hi - _lo >= _granularity)
        {
            BuildLadder(_lo, _hi); // Refine inside the gap.
            return;
        }
        else
        {
            _phase = PathMtuPhase.Complete;
            _nextAction = now + _confirmInterval;
            _nextRaise = _lo < _max ? now + _raiseInterval : long.MaxValue;
        }

        Publish();
    }

    private void BeginSearch(int lo, int hi)
    {
        Interlocked.Increment(ref _searches);
        _phase = PathMtuPhase.Searching;
        _nextRaise = long.MaxValue;
        _confirmRound = false;
        _lo = lo;
        BuildLadder(lo, hi);
    }

    /// <summary>Sizes in (<paramref name="lo"/>, <paramref name="hi"/>], evenly spaced from the top; plus the base while it is unconfirmed.</summary>
    private void BuildLadder(int lo, int hi)
    {
        _hi = hi;
        _rungCount = 0;
        bool withBase = lo < _base;
        int floor = Math.Max(lo, _base);
        int slots = _ladderSize - (withBase ? 1 : 0);
        int step = Math.Max(_granularity, (hi - floor + slots - 1) / slots);
        for (int size = hi; size > floor && _rungCount < slots; size -= step)
        {
            _rungs[_rungCount++] = new Rung { Size = size };
        }

        if (withBase)
        {
            _rungs[_rungCount++] = new Rung { Size = _base };
        }
    }

    private void Publish() => _mtu = _phase == PathMtuPhase.Error ? 0 : Math.Max(_lo, _base);

    private struct Rung
    {
        public int Size;
        public int Losses;
        public bool Sent;
        public bool Acked;
    }

    private struct Issued
    {
        public uint Sequence;
        public int Size;
        public int Round;
        public bool Acked;
    }
}
