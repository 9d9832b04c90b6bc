namespace Steer.Selection;

/// <summary>The circuit breakers of all datacenters, by name, created on first use. Thread-safe.</summary>
public sealed class GatewayHealthRegistry
{
    private readonly GatewayHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, GatewayHealth> _gateways = new(StringComparer.Ordinal);

    /// <summary>Creates a registry.</summary>
    /// <param name="options">The breaker thresholds; null for the defaults (3 attempts, ratio 0.5, 60 s window, 30 s break).</param>
    /// <param name="timeProvider">The clock of the breakers; null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public GatewayHealthRegistry(GatewayHealthOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new GatewayHealthOptions();
        _options.Validate(nameof(options));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The breaker of a datacenter, created closed on first use.</summary>
    /// <param name="name">The datacenter's name.</param>
    /// <returns>Its breaker.</returns>
    public GatewayHealth Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_lock)
        {
            if (!_gateways.TryGetValue(name, out GatewayHealth? health))
            {
                health = new GatewayHealth(name, _options, _time);
                _gateways.Add(name, health);
            }

            return health;
        }
    }

    /// <summary>True when an attempt to the datacenter is allowed now (true for a datacenter never seen).</summary>
    /// <param name="name">The datacenter's name.</param>
    /// <returns>Whether it may be tried.</returns>
    public bool IsAvailable(string name)
    {
        GatewayHealth? health;
        lock (_lock)
        {
            _gateways.TryGetValue(name, out health);
        }

        return health?.IsAvailable ?? true;
    }

    /// <summary>The breakers created so far.</summary>
    /// <returns>A snapshot of the breakers.</returns>
    public IReadOnlyList<GatewayHealth> Snapshot()
    {
        lock (_lock)
        {
            return [.. _gateways.Values];
        }
    }
}
