using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Steer.Lab;

/// <summary>
/// A long-running process started inside a network namespace (<c>ip netns exec &lt;ns&gt; &lt;file&gt; &lt;args&gt;</c>),
/// with its stdout and stderr lines kept in a bounded in-memory log.
/// </summary>
/// <remarks>
/// <c>ip netns exec</c> enters the namespace and then execs the command in place, so <see cref="Id"/> is the pid of
/// the command itself and the signals sent by <see cref="Interrupt"/> and <see cref="Terminate"/> reach it directly.
/// Disposing kills the process (and its descendants) if it is still running.
/// </remarks>
public sealed partial class LabProcess : IAsyncDisposable
{
    private const int MaxLineLength = 8 * 1024;
    private static readonly TimeSpan s_outputDrainTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_killWaitTimeout = TimeSpan.FromSeconds(5);
    private static readonly Lazy<string?> s_envWithDefaultSignal = new(FindEnvWithDefaultSignal);

    private readonly Process _process;
    private readonly ILogger? _logger;
    private readonly int _maxLogLines;
    private readonly Lock _gate = new();
    private readonly Queue<string> _lines = new();
    private readonly List<LineWaiter> _waiters = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;
    private long _droppedLines;
    private bool _outputDone;
    private int _disposed;
    private int _exitCode;

    private LabProcess(Process process, string? networkNamespace, string name, string commandLine, LabProcessOptions options)
    {
        _process = process;
        Namespace = networkNamespace;
        Name = name;
        CommandLine = commandLine;
        _logger = options.Logger;
        _maxLogLines = options.MaxLogLines;
    }

    /// <summary>The network namespace the process runs in, or <see langword="null"/> for this process's namespace.</summary>
    public string? Namespace { get; }

    /// <summary>The name used in logs and messages.</summary>
    public string Name { get; }

    /// <summary>The command line as started (for messages), including the <c>ip netns exec</c> wrapper.</summary>
    public string CommandLine { get; }

    /// <summary>The pid of the command (not of a wrapper: <c>ip netns exec</c> execs in place).</summary>
    public int Id { get; private set; }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The exit code, or <see langword="null"/> while the process runs.</summary>
    public int? ExitCode => HasExited ? _exitCode : null;

    /// <summary>How many old lines were dropped from the bounded log.</summary>
    public long DroppedLineCount
    {
        get
        {
            lock (_gate)
            {
                return _droppedLines;
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> inside <paramref name="networkNamespace"/> and begins capturing its output.
    /// </summary>
    /// <param name="networkNamespace">
    /// The namespace (as listed by <c>ip netns list</c>), or <see langword="null"/> to run in this process's namespace.
    /// </param>
    /// <param name="fileName">The program; a bare name is looked up on <c>PATH</c>.</param>
    /// <param name="arguments">The arguments, passed as they are (no shell).</param>
    /// <param name="options">Log size, logger, environment; <see langword="null"/> for the defaults.</param>
    /// <returns>The running process.</returns>
    /// <exception cref="LabException">The program (or <c>ip</c>) could not be started.</exception>
    public static LabProcess Start(
        string? networkNamespace,
        string fileName,
        IEnumerable<string> arguments,
        LabProcessOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        options ??= new LabProcessOptions();
        options.Validate(nameof(options));

        ProcessStartInfo startInfo = CreateStartInfo(networkNamespace, fileName, arguments, resetInterrupt: true);
        startInfo.RedirectStandardInput = true;
        if (options.WorkingDirectory is not null)
        {
            startInfo.WorkingDirectory = options.WorkingDirectory;
        }

        foreach (KeyValuePair<string, string?> variable in options.Environment)
        {
            if (variable.Value is null)
            {
                startInfo.Environment.Remove(variable.Key);
            }
            else
            {
                startInfo.Environment[variable.Key] = variable.Value;
            }
        }

        string commandLine = FormatCommandLine(startInfo);
        string name = options.Name ?? $"{networkNamespace ?? "host"}:{Path.GetFileName(fileName)}";
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var labProcess = new LabProcess(process, networkNamespace, name, commandLine, options);
        process.OutputDataReceived += (_, e) => labProcess.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => labProcess.OnLine(e.Data, isError: true);
        process.Exited += (_, _) => labProcess.OnExited();

        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new LabException($"cannot start `{commandLine}`: {ex.Message}", ex);
        }

        labProcess.Id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (labProcess._logger is { } logger)
        {
            LabLog.ProcessStarted(logger, name, labProcess.Id, commandLine);
        }

        return labProcess;
    }

    /// <summary>Returns a copy of the lines currently in the log (stdout and stderr interleaved), oldest first.</summary>
    /// <returns>The lines.</returns>
    public IReadOnlyList<string> GetOutputLines()
    {
        lock (_gate)
        {
            return [.. _lines];
        }
    }

    /// <summary>Returns the lines currently in the log joined with <c>\n</c>.</summary>
    /// <returns>The log text.</returns>
    public string GetOutput() => string.Join('\n', GetOutputLines());

    /// <summary>
    /// Waits until an output line (already logged or still to come) matches <paramref name="predicate"/>.
    /// </summary>
    /// <param name="predicate">Called for each line, on a background thread.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The first matching line.</returns>
    /// <exception cref="TimeoutException">No line matched within <paramref name="timeout"/>.</exception>
    /// <exception cref="LabException">The process closed its output (exited) before a line matched.</exception>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        LineWaiter? waiter = null;
        lock (_gate)
        {
            foreach (string line in _lines)
            {
                if (predicate(line))
                {
                    return line;
                }
            }

            if (!_outputDone)
            {
                waiter = new LineWaiter(predicate);
                _waiters.Add(waiter);
            }
        }

        if (waiter is null)
        {
            throw CreateEndedException();
        }

        try
        {
            return await waiter.Completion.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"[{Name}] no matching output line within {timeout.TotalSeconds:0.#} s. Output so far:\n{GetOutputTail()}");
        }
        finally
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Sends SIGINT (what Ctrl+C sends) to the process.</summary>
    /// <returns>False when the process had already exited.</returns>
    public bool Interrupt() => SendSignal(Interop.Libc.SIGINT);

    /// <summary>Sends SIGTERM to the process.</summary>
    /// <returns>False when the process had already exited.</returns>
    public bool Terminate() => SendSignal(Interop.Libc.SIGTERM);

    /// <summary>Kills the process and its descendants (SIGKILL).</summary>
    /// <returns>False when the process had already exited.</returns>
    public bool Kill()
    {
        if (HasExited)
        {
            return false;
        }

        try
        {
            _process.Kill(entireProcessTree: true);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Waits for the process to exit, then for the rest of its output (briefly).</summary>
    /// <param name="timeout">How long to wait for the exit.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="TimeoutException">The process still runs after <paramref name="timeout"/>.</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _exited.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"[{Name}] still running after {timeout.TotalSeconds:0.#} s. Output so far:\n{GetOutputTail()}");
        }

        // The output pipes close at exit unless a descendant keeps them open: don't wait for that forever.
        await _outputClosed.Task.WaitAsync(s_outputDrainTimeout, cancellationToken)
            .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
        return _exitCode;
    }

    /// <summary>
    /// Stops the process the way a user would: SIGINT, then SIGKILL if it has not exited after
    /// <paramref name="gracePeriod"/>.
    /// </summary>
    /// <param name="gracePeriod">How long the process may take to exit after SIGINT.</param>
    /// <param name="cancellationToken">Cancels the wait (the process is then left running until disposed).</param>
    /// <returns>The exit code.</returns>
    public async Task<int> StopAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        if (!HasExited)
        {
            Interrupt();
            try
            {
                return await WaitForExitAsync(gracePeriod, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Kill();
            }
        }

        return await WaitForExitAsync(s_killWaitTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Kills the process if it still runs, waits briefly for it, and releases it. Idempotent.</summary>
    /// <returns>A task that completes when done.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (Kill())
        {
            await _exited.Task.WaitAsync(s_killWaitTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _outputClosed.Task.WaitAsync(s_outputDrainTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The child closed its end first: nothing to do.
        }

        FailWaiters(new ObjectDisposedException(nameof(LabProcess)));
        _process.Dispose();
    }

    /// <summary>Describes the process: name, pid and state.</summary>
    /// <returns>A one-line description.</returns>
    public override string ToString()
        => HasExited
            ? string.Create(CultureInfo.InvariantCulture, $"{Name} (pid {Id}, exited with {_exitCode})")
            : string.Create(CultureInfo.InvariantCulture, $"{Name} (pid {Id}, running)");

    private static ProcessStartInfo CreateStartInfo(
        string? networkNamespace,
        string fileName,
        IEnumerable<string> arguments,
        bool resetInterrupt = false)
    {
        var startInfo = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };

        var command = new List<string>();
        if (networkNamespace is not null)
        {
            ArgumentException.ThrowIfNullOrEmpty(networkNamespace);
            command.AddRange([LabPrerequisites.FindExecutable("ip") ?? "ip", "netns", "exec", networkNamespace]);
        }

        // A child inherits an ignored SIGINT (e.g. when this process runs as a background job of a script), and then
        // Interrupt() would do nothing. `env --default-signal=INT` restores the default and execs in place.
        if (resetInterrupt && s_envWithDefaultSignal.Value is { } env)
        {
            command.AddRange([env, "--default-signal=INT"]);
        }

        command.Add(fileName);
        startInfo.FileName = command[0];
        foreach (string part in command.Skip(1))
        {
            startInfo.ArgumentList.Add(part);
        }

        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    /// <summary>Finds an <c>env</c> that supports <c>--default-signal</c> (GNU coreutils 8.31+), or returns null.</summary>
    private static string? FindEnvWithDefaultSignal()
    {
        string? env = LabPrerequisites.FindExecutable("env");
        if (env is null)
        {
            return null;
        }

        try
        {
            using var probe = Process.Start(new ProcessStartInfo(env, ["--default-signal=INT", "true"])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (probe is null)
            {
                return null;
            }

            if (!probe.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                probe.Kill();
                return null;
            }

            return probe.ExitCode == 0 ? env : null;
        }
        catch (Win32Exception)
        {
            return null;
        }
    }

    private static string FormatCommandLine(ProcessStartInfo startInfo)
    {
        var builder = new StringBuilder(Quote(startInfo.FileName));
        foreach (string argument in startInfo.ArgumentList)
        {
            builder.Append(' ').Append(Quote(argument));
        }

        return builder.ToString();

        static string Quote(string value)
            => value.Length > 0 && !value.AsSpan().ContainsAny(" \t\n'\"\\$`") ? value : $"'{value.Replace("'", "'\\''", StringComparison.Ordinal)}'";
    }

    private bool SendSignal(int signal)
    {
        if (HasExited)
        {
            return false;
        }

        if (Interop.Libc.Kill(Id, signal) == 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno == Interop.Libc.ESRCH)
        {
            return false;
        }

        throw new LabException(string.Create(
            CultureInfo.InvariantCulture,
            $"kill({Id}, {signal}) failed for [{Name}]: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})"));
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _openStreams) == 0)
            {
                _outputClosed.TrySetResult();
                _ = FailWaitersAfterExitAsync();
            }

            return;
        }

        if (line.Length > MaxLineLength)
        {
            line = string.Concat(line.AsSpan(0, MaxLineLength), "…");
        }

        List<(LineWaiter Waiter, bool Matched, Exception? Error)>? completed = null;
        lock (_gate)
        {
            _lines.Enqueue(line);
            while (_lines.Count > _maxLogLines)
            {
                _lines.Dequeue();
                _droppedLines++;
            }

            foreach (LineWaiter waiter in _waiters)
            {
                try
                {
                    if (waiter.Predicate(line))
                    {
                        (completed ??= []).Add((waiter, true, null));
                    }
                }
                catch (Exception ex)
                {
                    (completed ??= []).Add((waiter, false, ex));
                }
            }

            if (completed is not null)
            {
                foreach ((LineWaiter waiter, _, _) in completed)
                {
                    _waiters.Remove(waiter);
                }
            }
        }

        if (completed is not null)
        {
            foreach ((LineWaiter waiter, bool matched, Exception? error) in completed)
            {
                if (matched)
                {
                    waiter.Completion.TrySetResult(line);
                }
                else
                {
                    waiter.Completion.TrySetException(error!);
                }
            }
        }

        if (_logger is { } logger)
        {
            LabLog.ProcessOutput(logger, Name, isError ? "err" : "out", line);
        }
    }

    private void OnExited()
    {
        try
        {
            _exitCode = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            _exitCode = -1;
        }

        _exited.TrySetResult();
        if (_logger is { } logger)
        {
            LabLog.ProcessExited(logger, Name, _exitCode);
        }
    }

    private async Task FailWaitersAfterExitAsync()
    {
        // Both pipes are closed; give the exit a moment to be reaped so the message can carry the exit code.
        await _exited.Task.WaitAsync(s_outputDrainTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_gate)
        {
            _outputDone = true;
        }

        FailWaiters(CreateEndedException());
    }

    private LabException CreateEndedException()
    {
        string state = HasExited
            ? string.Create(CultureInfo.InvariantCulture, $"exited with code {_exitCode}")
            : "closed its output";
        return new LabException($"[{Name}] {state} before printing the expected line. Output:\n{GetOutputTail()}");
    }

    private void FailWaiters(Exception exception)
    {
        LineWaiter[] waiters;
        lock (_gate)
        {
            waiters = [.. _waiters];
            _waiters.Clear();
        }

        foreach (LineWaiter waiter in waiters)
        {
            waiter.Completion.TrySetException(exception);
        }
    }

    private string GetOutputTail()
    {
        const int tailLines = 40;
        IReadOnlyList<string> lines = GetOutputLines();
        IEnumerable<string> tail = lines.Count > tailLines ? lines.Skip(lines.Count - tailLines) : lines;
        string text = string.Join('\n', tail);
        return text.Length == 0 ? "(no output)" : text;
    }

    private sealed class LineWaiter(Func<string, bool> predicate)
    {
        public Func<string, bool> Predicate { get; } = predicate;

        public TaskCompletionSource<string> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
