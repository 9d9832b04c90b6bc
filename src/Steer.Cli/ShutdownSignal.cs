using System.Runtime.InteropServices;

namespace Steer.Cli;

/// <summary>Turns SIGINT (Ctrl-C), SIGTERM and SIGQUIT into one cancellation, so every command cleans up the same way.</summary>
internal sealed partial class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration[] _registrations;

    public ShutdownSignal()
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            // A process started in the background by a non-interactive shell inherits SIGINT/SIGQUIT as "ignored",
            // and the runtime then never delivers them. steer must still clean up on Ctrl-C / kill -INT, so restore
            // the default disposition before registering.
            _ = Signal(SIGINT, IntPtr.Zero);
            _ = Signal(SIGQUIT, IntPtr.Zero);
        }

        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Handle),
        ];
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>The signal that asked for shutdown, if any.</summary>
    public PosixSignal? Received { get; private set; }

    /// <summary>Requests shutdown without a signal (for example <c>steer down</c>).</summary>
    public void Trigger() => _cts.Cancel();

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }

        _cts.Dispose();
    }

    private const int SIGINT = 2;
    private const int SIGQUIT = 3;

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial IntPtr Signal(int signal, IntPtr handler);

    private void Handle(PosixSignalContext context)
    {
        // Keep the process alive: the command unwinds and restores the host before it exits.
        context.Cancel = true;
        Received ??= context.Signal;
        _cts.Cancel();
    }
}
