using Microsoft.Extensions.Logging;

namespace Steer.Lab;

/// <summary>Options for <see cref="LabProcess.Start"/>.</summary>
public sealed class LabProcessOptions
{
    /// <summary>
    /// Short name used in log messages and exception messages.
    /// </summary>
    /// <remarks>Defaults to <c>&lt;namespace&gt;:&lt;file name&gt;</c>.</remarks>
    public string? Name { get; set; }

    /// <summary>How many output lines (stdout and stderr together) are kept in memory; older lines are dropped.</summary>
    /// <remarks>Defaults to 2000. At least 1.</remarks>
    public int MaxLogLines { get; set; } = 2000;

    /// <summary>Where output lines are also forwarded (at <see cref="LogLevel.Debug"/>), or <see langword="null"/>.</summary>
    /// <remarks>Defaults to <see langword="null"/>: lines are only kept in memory.</remarks>
    public ILogger? Logger { get; set; }

    /// <summary>Environment variables to set (a <see langword="null"/> value removes the variable).</summary>
    /// <remarks>Defaults to empty: the child inherits this process's environment.</remarks>
    public IDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>Working directory of the child, or <see langword="null"/> for this process's current directory.</summary>
    /// <remarks>Defaults to <see langword="null"/>.</remarks>
    public string? WorkingDirectory { get; set; }

    internal void Validate(string argumentName)
    {
        if (MaxLogLines < 1)
        {
            throw new ArgumentOutOfRangeException(argumentName, MaxLogLines, $"{nameof(MaxLogLines)} must be at least 1.");
        }
    }
}
