using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Steer.Lab;

public sealed partial class LabProcess
{
    /// <summary>How much of each output stream <see cref="RunAsync"/> keeps (the rest is read and dropped).</summary>
    public const int MaxCapturedChars = 4 * 1024 * 1024;

    /// <summary>
    /// Runs a short command (<c>curl</c>, <c>ip</c>, <c>cat /sys/class/net/…</c>) inside a network namespace and
    /// returns its exit code and output. Standard input is empty.
    /// </summary>
    /// <param name="networkNamespace">The namespace, or <see langword="null"/> to run in this process's namespace.</param>
    /// <param name="fileName">The program; a bare name is looked up on <c>PATH</c>.</param>
    /// <param name="arguments">The arguments, passed as they are (no shell).</param>
    /// <param name="timeout">How long the command may run; it is killed after that.</param>
    /// <param name="cancellationToken">Kills the command and cancels.</param>
    /// <returns>The result; a non-zero exit code is not an exception (see <see cref="LabCommandResult.EnsureSuccess"/>).</returns>
    /// <exception cref="LabException">The program (or <c>ip</c>) could not be started.</exception>
    /// <exception cref="TimeoutException">The command ran longer than <paramref name="timeout"/> (it was killed).</exception>
    /// <remarks>Each stream keeps at most <see cref="MaxCapturedChars"/> characters.</remarks>
    public static async Task<LabCommandResult> RunAsync(
        string? networkNamespace,
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);

        ProcessStartInfo startInfo = CreateStartInfo(networkNamespace, fileName, arguments);
        startInfo.RedirectStandardInput = true;
        string commandLine = FormatCommandLine(startInfo);
        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new LabException($"cannot start `{commandLine}`: {ex.Message}", ex);
        }

        process.StandardInput.Close();
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        Task<string> stdoutTask = ReadCappedAsync(process.StandardOutput, timeoutCts.Token);
        Task<string> stderrTask = ReadCappedAsync(process.StandardError, timeoutCts.Token);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
            string stdout = await stdoutTask.ConfigureAwait(false);
            string stderr = await stderrTask.ConfigureAwait(false);
            return new LabCommandResult(commandLine, process.ExitCode, stdout, stderr);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(process);
            await Task.WhenAll((Task)stdoutTask, stderrTask).WaitAsync(s_outputDrainTimeout, CancellationToken.None)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"`{commandLine}` did not finish within {timeout.TotalSeconds:0.#} s and was killed.");
        }
    }

    /// <summary>
    /// Runs a short command like <see cref="RunAsync"/> and throws when its exit code is not 0.
    /// </summary>
    /// <param name="networkNamespace">The namespace, or <see langword="null"/> to run in this process's namespace.</param>
    /// <param name="fileName">The program; a bare name is looked up on <c>PATH</c>.</param>
    /// <param name="arguments">The arguments, passed as they are (no shell).</param>
    /// <param name="timeout">How long the command may run; it is killed after that.</param>
    /// <param name="cancellationToken">Kills the command and cancels.</param>
    /// <returns>The successful result.</returns>
    /// <exception cref="LabException">The command could not be started or exited with a non-zero code.</exception>
    /// <exception cref="TimeoutException">The command ran longer than <paramref name="timeout"/> (it was killed).</exception>
    public static async Task<LabCommandResult> RunCheckedAsync(
        string? networkNamespace,
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        LabCommandResult result = await RunAsync(networkNamespace, fileName, arguments, timeout, cancellationToken)
            .ConfigureAwait(false);
        return result.EnsureSuccess();
    }

    private static async Task<string> ReadCappedAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var builder = new StringBuilder();
        char[] buffer = new char[4096];
        bool truncated = false;
        while (true)
        {
            int read = await reader.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            int keep = Math.Min(read, MaxCapturedChars - builder.Length);
            if (keep > 0)
            {
                builder.Append(buffer, 0, keep);
            }

            truncated |= keep < read;
        }

        if (truncated)
        {
            builder.Append("\n[output truncated]\n");
        }

        return builder.ToString();
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (Win32Exception)
        {
            // Exiting while we killed it.
        }
    }
}
