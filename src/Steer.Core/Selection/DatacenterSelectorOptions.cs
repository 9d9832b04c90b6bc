using Steer.Configuration;

namespace Steer.Selection;

/// <summary>Options of a <see cref="DatacenterSelector"/>: the hysteresis that keeps a healthy current datacenter.</summary>
public sealed class DatacenterSelectorOptions
{
    /// <summary>How much lower a candidate's window-minimum RTT must be than the current one's to replace it.</summary>
    /// <remarks>Defaults to 10 ms.</remarks>
    public TimeSpan MinImprovement { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The largest fraction of the current window-minimum RTT a candidate may have to replace it (both this and
    /// <see cref="MinImprovement"/> must hold).
    /// </summary>
    /// <remarks>Defaults to 2/3.</remarks>
    public double MaxRatio { get; set; } = 2.0 / 3.0;

    /// <summary>In how many consecutive probe rounds the switch condition must hold before a switch.</summary>
    /// <remarks>Defaults to 2: never switch away from a healthy datacenter on a single round.</remarks>
    public int RequiredRounds { get; set; } = 2;

    /// <summary>
    /// The configured priority of a gateway, lower first; breaks RTT ties and orders gateways without measurements
    /// (ties of priority keep the configuration order).
    /// </summary>
    /// <remarks>Defaults to null: every gateway has priority 0, so the configuration order decides.</remarks>
    public Func<GatewayEndpoint, int>? Priority { get; set; }

    internal void Validate(string argumentName)
    {
        if (MinImprovement < TimeSpan.Zero || !(MaxRatio is > 0 and <= 1) || RequiredRounds < 1)
        {
            throw new ArgumentException(
                $"{nameof(MinImprovement)} must not be negative, {nameof(MaxRatio)} must be in (0, 1] and {nameof(RequiredRounds)} at least 1.",
                argumentName);
        }
    }
}
