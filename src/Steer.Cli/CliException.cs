namespace Steer.Cli;

/// <summary>A user-facing error: printed as one line, the process exits with <see cref="ExitCode"/>.</summary>
internal sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
