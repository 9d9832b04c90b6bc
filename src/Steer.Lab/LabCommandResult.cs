using System.Globalization;
using System.Text;

namespace Steer.Lab;

/// <summary>The outcome of a short command run with <see cref="LabProcess.RunAsync"/>.</summary>
public sealed class LabCommandResult
{
    internal LabCommandResult(string commandLine, int exitCode, string standardOutput, string standardError)
    {
        CommandLine = commandLine;
        ExitCode = exitCode;
        StandardOutput = standardOutput;
        StandardError = standardError;
    }

    /// <summary>The command as it was run (for messages), including the <c>ip netns exec</c> wrapper if any.</summary>
    public string CommandLine { get; }

    /// <summary>The exit code of the command.</summary>
    public int ExitCode { get; }

    /// <summary>Everything the command wrote to standard output.</summary>
    public string StandardOutput { get; }

    /// <summary>Everything the command wrote to standard error.</summary>
    public string StandardError { get; }

    /// <summary>True when <see cref="ExitCode"/> is 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>Returns this result when the command succeeded, else throws with the command's output.</summary>
    /// <returns>This result.</returns>
    /// <exception cref="LabException">The exit code is not 0.</exception>
    public LabCommandResult EnsureSuccess()
    {
        if (!Succeeded)
        {
            throw new LabException(ToString());
        }

        return this;
    }

    /// <summary>Describes the command, its exit code and its output.</summary>
    /// <returns>A multi-line description.</returns>
    public override string ToString()
    {
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"`{CommandLine}` exited with {ExitCode}");
        if (StandardError.Length > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $"; stderr: {StandardError.TrimEnd()}");
        }

        if (StandardOutput.Length > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $"; stdout: {StandardOutput.TrimEnd()}");
        }

        return builder.ToString();
    }
}
