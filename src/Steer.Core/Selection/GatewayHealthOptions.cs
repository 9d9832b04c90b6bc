namespace Steer.Selection;

/// <summary>Options of the per-datacenter circuit breakers (<see cref="GatewayHealthRegistry"/>).</summary>
public sealed class GatewayHealthOptions
{
    /// <summary>The fraction of failed attempts within <see cref="SamplingDuration"/> that opens the breaker, in (0, 1].</summary>
    /// <remarks>Defaults to 0.5.</remarks>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>The fewest attempts within <see cref="SamplingDuration"/> before the breaker may open; at least 2.</summary>
    /// <remarks>Defaults to 3: three failed connects in a row rule a datacenter out.</remarks>
    public int MinimumAttempts { get; set; } = 3;

    /// <summary>The window over which attempts are counted; at least 0.5 s.</summary>
    /// <remarks>Defaults to 60 seconds.</remarks>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an open breaker rules its datacenter out; at least 0.5 s.</summary>
    /// <remarks>Defaults to 30 seconds.</remarks>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate(string argumentName)
    {
        if (!(FailureRatio is > 0 and <= 1))
        {
            throw new ArgumentException($"{nameof(FailureRatio)} must be in (0, 1].", argumentName);
        }

        if (MinimumAttempts < 2)
        {
            throw new ArgumentException($"{nameof(MinimumAttempts)} must be at least 2.", argumentName);
        }

        if (SamplingDuration < TimeSpan.FromMilliseconds(500) || BreakDuration < TimeSpan.FromMilliseconds(500))
        {
            throw new ArgumentException($"{nameof(SamplingDuration)} and {nameof(BreakDuration)} must be at least 0.5 s.", argumentName);
        }
    }
}
