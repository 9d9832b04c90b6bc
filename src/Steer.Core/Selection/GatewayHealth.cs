using System.Globalization;
using Polly;
using Polly.CircuitBreaker;

namespace Steer.Selection;

/// <summary>
/// The circuit breaker of one datacenter: after repeated failed attempts (connects, sessions that die at once) it rules
/// the datacenter out for a break, then allows one trial attempt. Built on Polly's circuit breaker; created by
/// <see cref="GatewayHealthRegistry"/>. Thread-safe.
/// </summary>
public sealed class GatewayHealth
{
    private static readonly object Failure = new();
    private static readonly object Success = new();
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly CircuitBreakerManualControl _control = new();
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private string? _lastFailure;
    private string? _openReason;
    private DateTimeOffset? _openUntil;

    internal GatewayHealth(string name, GatewayHealthOptions options, TimeProvider timeProvider)
    {
        Name = name;
        _time = timeProvider;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumAttempts,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                StateProvider = _state,
                ManualControl = _control,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception switch
                {
                    OperationCanceledException when args.Context.CancellationToken.IsCancellationRequested => false,
                    Exception => true,
                    null => ReferenceEquals(args.Outcome.Result, Failure),
                }),
                OnOpened = args =>
                {
                    lock (_lock)
                    {
                        _openUntil = args.IsManual ? null : _time.GetUtcNow() + args.BreakDuration;
                        _openReason = args.IsManual ? _openReason : _lastFailure;
                    }

                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    lock (_lock)
                    {
                        _openUntil = null;
                        _openReason = null;
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The datacenter's name.</summary>
    public string Name { get; }

    /// <summary>
    /// The breaker's state. An open breaker whose break has passed is reported <see cref="GatewayCircuitState.HalfOpen"/>:
    /// the next attempt is the trial.
    /// </summary>
    public GatewayCircuitState State
    {
        get
        {
            switch (_state.CircuitState)
            {
                case CircuitState.Closed:
                    return GatewayCircuitState.Closed;
                case CircuitState.HalfOpen:
                    return GatewayCircuitState.HalfOpen;
                case CircuitState.Isolated:
                    return GatewayCircuitState.Isolated;
                default:
                    lock (_lock)
                    {
                        return _openUntil is DateTimeOffset until && _time.GetUtcNow() >= until
                            ? GatewayCircuitState.HalfOpen
                            : GatewayCircuitState.Open;
                    }
            }
        }
    }

    /// <summary>True when an attempt is allowed now (<see cref="GatewayCircuitState.Closed"/> or <see cref="GatewayCircuitState.HalfOpen"/>).</summary>
    public bool IsAvailable => State is GatewayCircuitState.Closed or GatewayCircuitState.HalfOpen;

    /// <summary>Until when an open breaker rules the datacenter out; null unless <see cref="GatewayCircuitState.Open"/>.</summary>
    public DateTimeOffset? OpenUntil
    {
        get
        {
            lock (_lock)
            {
                return _state.CircuitState == CircuitState.Open ? _openUntil : null;
            }
        }
    }

    /// <summary>
    /// Why the datacenter is ruled out (the last failure before the breaker opened, or the isolation reason); the last
    /// failure while closed; null when there was none.
    /// </summary>
    public string? Reason
    {
        get
        {
            lock (_lock)
            {
                return _state.CircuitState == CircuitState.Closed ? _lastFailure : _openReason ?? _lastFailure;
            }
        }
    }

    /// <summary>Records a successful attempt (a session came up). Ignored while the breaker rules the datacenter out.</summary>
    public void RecordSuccess() => Record(Success);

    /// <summary>Records a failed attempt. Ignored while the breaker rules the datacenter out.</summary>
    /// <param name="reason">What failed, shown while the breaker is open.</param>
    public void RecordFailure(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        lock (_lock)
        {
            _lastFailure = reason;
        }

        Record(Failure);
    }

    /// <summary>
    /// Runs an attempt through the breaker: refused with <see cref="GatewayUnavailableException"/> while the datacenter
    /// is ruled out; an exception thrown by the attempt counts as a failure (except cancellation by
    /// <paramref name="cancellationToken"/>) and is rethrown; a result counts as a success.
    /// </summary>
    /// <typeparam name="T">The attempt's result.</typeparam>
    /// <param name="attempt">The attempt, for example connecting to the datacenter.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The attempt's result.</returns>
    /// <exception cref="GatewayUnavailableException">The breaker is open or isolated.</exception>
    public async Task<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (state, ct) =>
                {
                    try
                    {
                        return await state.attempt(ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                    {
                        lock (state.self._lock)
                        {
                            state.self._lastFailure = ex.Message;
                        }

                        throw;
                    }
                },
                (attempt, self: this),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is BrokenCircuitException or IsolatedCircuitException)
        {
            throw Unavailable();
        }
    }

    /// <summary>Rules the datacenter out until <see cref="ResetAsync"/>, for example after a key pin mismatch.</summary>
    /// <param name="reason">Why, shown as <see cref="Reason"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the breaker is isolated.</returns>
    public Task IsolateAsync(string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        lock (_lock)
        {
            _openReason = reason;
        }

        return _control.IsolateAsync(cancellationToken);
    }

    /// <summary>Closes the breaker and forgets the failures, for example after a network change.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the breaker is closed.</returns>
    public async Task ResetAsync(CancellationToken cancellationToken = default)
    {
        await _control.CloseAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _lastFailure = null;
            _openReason = null;
            _openUntil = null;
        }
    }

    /// <summary>
    /// A short description for logs and reasons: <c>circuit open until 12:00:30 after repeated failures: …</c>,
    /// <c>isolated: …</c>, <c>half-open: next attempt is a trial</c>, or <c>closed</c>.
    /// </summary>
    /// <returns>The description.</returns>
    public string Describe()
    {
        GatewayCircuitState state = State;
        string? reason = Reason;
        return state switch
        {
            GatewayCircuitState.Open => string.Create(CultureInfo.InvariantCulture,
                $"circuit open until {OpenUntil:HH:mm:ss} after repeated failures{(reason is null ? "" : ": " + reason)}"),
            GatewayCircuitState.Isolated => $"isolated{(reason is null ? "" : ": " + reason)}",
            GatewayCircuitState.HalfOpen => "half-open: next attempt is a trial",
            _ => "closed",
        };
    }

    private void Record(object outcome)
    {
        try
        {
            _pipeline.Execute(static state => state, outcome);
        }
        catch (Exception ex) when (ex is BrokenCircuitException or IsolatedCircuitException)
        {
            // Ruled out: only time (or a reset) changes that.
        }
    }

    private GatewayUnavailableException Unavailable()
    {
        GatewayCircuitState state = State;
        DateTimeOffset? until = OpenUntil;
        TimeSpan? retryAfter = until is DateTimeOffset u ? u - _time.GetUtcNow() : null;
        return new GatewayUnavailableException(Name, state, retryAfter, $"Datacenter '{Name}' is ruled out: {Describe()}.");
    }
}
