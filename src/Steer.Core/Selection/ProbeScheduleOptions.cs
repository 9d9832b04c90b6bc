namespace Steer.Selection;

/// <summary>Options of a <see cref="ProbeSchedule"/>.</summary>
public sealed class ProbeScheduleOptions
{
    /// <summary>How often every datacenter is probed.</summary>
    /// <remarks>Defaults to 5 minutes.</remarks>
    public TimeSpan FullInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the fastest few plus the current datacenter are probed between full rounds.</summary>
    /// <remarks>Defaults to 60 seconds.</remarks>
    public TimeSpan PartialInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many of the fastest healthy datacenters a partial round probes (plus the current one).</summary>
    /// <remarks>Defaults to 3.</remarks>
    public int PartialCount { get; set; } = 3;

    internal void Validate(string argumentName)
    {
        if (FullInterval <= TimeSpan.Zero || PartialInterval <= TimeSpan.Zero || PartialCount < 1)
        {
            throw new ArgumentException($"{nameof(FullInterval)} and {nameof(PartialInterval)} must be positive and {nameof(PartialCount)} at least 1.", argumentName);
        }
    }
}
