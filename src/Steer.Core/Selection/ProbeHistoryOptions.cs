namespace Steer.Selection;

/// <summary>Options of a <see cref="ProbeHistory"/>: the size of each gateway's sliding window.</summary>
public sealed class ProbeHistoryOptions
{
    /// <summary>The most rounds of one gateway kept in its window.</summary>
    /// <remarks>Defaults to 5.</remarks>
    public int WindowRounds { get; set; } = 5;

    /// <summary>The oldest round kept in a window; older rounds are forgotten.</summary>
    /// <remarks>Defaults to 5 minutes.</remarks>
    public TimeSpan WindowDuration { get; set; } = TimeSpan.FromMinutes(5);

    internal void Validate(string argumentName)
    {
        if (WindowRounds is < 1 or > 1000 || WindowDuration <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(WindowRounds)} must be between 1 and 1000 and {nameof(WindowDuration)} positive.", argumentName);
        }
    }
}
