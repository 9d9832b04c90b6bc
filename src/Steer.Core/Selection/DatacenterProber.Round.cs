using System.Diagnostics;
using Steer.Configuration;

namespace Steer.Selection;

public sealed partial class DatacenterProber
{
    /// <summary>
    /// One probe round: the per-gateway probes and the early-decision rule. Probes report progress (first answer,
    /// finished); the round cancels <see cref="Cutoff"/> when the rule holds.
    /// </summary>
    private sealed class Round : IDisposable
    {
        private readonly DatacenterProberOptions _options;
        private readonly CancellationTokenSource _cutoff;
        private readonly CancellationTokenSource _deadline = new();
        private readonly Lock _lock = new();
        private readonly int _required;
        private CancellationTokenRegistration _deadlineRegistration;
        private long _bestTicks = -1;
        private bool _deadlinePassed;
        private bool _decided;

        public Round(DatacenterProberOptions options, IReadOnlyList<GatewayEndpoint> gateways, string? current, CancellationToken callerToken)
        {
            _options = options;
            CallerToken = callerToken;
            _cutoff = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
            // At most one less than the gateways probed, so that one dead gateway never holds the round to its timeout.
            _required = Math.Clamp(options.EarlyDecisionCount, 1, Math.Max(1, gateways.Count - 1));
            Start = Stopwatch.GetTimestamp();
            Probes = new GatewayProbe[gateways.Count];
            for (int i = 0; i < Probes.Length; i++)
            {
                Probes[i] = new GatewayProbe(this, options, gateways[i], string.Equals(gateways[i].Name, current, StringComparison.Ordinal));
            }
        }

        /// <summary>The round's start, a <see cref="Stopwatch"/> timestamp.</summary>
        public long Start { get; }

        public GatewayProbe[] Probes { get; }

        /// <summary>Fires on an early decision or when the caller cancels.</summary>
        public CancellationToken Cutoff => _cutoff.Token;

        public CancellationToken CallerToken { get; }

        /// <summary>When the early decision was taken; null when the round ran to the end.</summary>
        public TimeSpan? DecidedAfter { get; private set; }

        /// <summary>T of the early-decision rule: when the first <see cref="DatacenterProberOptions.EarlyDecisionCount"/> gateways had finished.</summary>
        public TimeSpan? BestTime
        {
            get
            {
                lock (_lock)
                {
                    return _bestTicks < 0 ? null : Stopwatch.GetElapsedTime(0, _bestTicks);
                }
            }
        }

        public double Factor => _options.EarlyDecisionFactor;

        /// <summary>Evaluates the early-decision rule after a probe got its first answer or finished.</summary>
        public void OnProgress()
        {
            if (!_options.EarlyDecision)
            {
                return;
            }

            lock (_lock)
            {
                if (_decided)
                {
                    return;
                }

                int finishedWithAnswer = 0;
                foreach (GatewayProbe probe in Probes)
                {
                    if (probe.IsFinished && probe.HasAnswer)
                    {
                        finishedWithAnswer++;
                    }
                }

                if (finishedWithAnswer < _required)
                {
                    return;
                }

                long now = Stopwatch.GetTimestamp();
                if (_bestTicks < 0)
                {
                    _bestTicks = Math.Max(1, now - Start);
                    TimeSpan wait = Stopwatch.GetElapsedTime(0, (long)(_bestTicks * _options.EarlyDecisionFactor)) - Stopwatch.GetElapsedTime(Start, now);
                    if (wait > TimeSpan.Zero)
                    {
                        _deadlineRegistration = _deadline.Token.UnsafeRegister(static state => ((Round)state!).OnDeadline(), this);
                        _deadline.CancelAfter(wait);
                    }
                    else
                    {
                        _deadlinePassed = true;
                    }
                }

                bool pastDeadline = _deadlinePassed || now - Start >= _bestTicks * _options.EarlyDecisionFactor;
                foreach (GatewayProbe probe in Probes)
                {
                    if (probe.IsFinished)
                    {
                        continue;
                    }

                    if (probe.IsCurrent || (!probe.HasAnswer && !pastDeadline))
                    {
                        return;
                    }
                }

                _decided = true;
                DecidedAfter = Stopwatch.GetElapsedTime(Start, now);
            }

            _cutoff.Cancel();
        }

        public void Dispose()
        {
            _deadlineRegistration.Dispose();
            _deadline.Dispose();
            _cutoff.Dispose();
        }

        private void OnDeadline()
        {
            lock (_lock)
            {
                _deadlinePassed = true;
            }

            OnProgress();
        }
    }
}
