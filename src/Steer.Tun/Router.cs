using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.Tun.Journal;
using Steer.Tun.Linux;
using Steer.Tun.MacOS;
using Steer.Tun.Windows;

namespace Steer.Tun;

/// <summary>Creates the <see cref="IRouter"/> of the operating system Steer runs on, and cleans up after crashed ones.</summary>
public static class Router
{
    /// <summary>True when this operating system has a router implementation (Linux over rtnetlink, macOS over PF_ROUTE, Windows over the IP Helper API).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsWindows();

    /// <summary>
    /// Opens a router whose journal is kept in memory only. Changes need root or CAP_NET_ADMIN on Linux, root on macOS
    /// and Administrator rights on Windows; lookups do not.
    /// </summary>
    /// <param name="logger">Receives one debug message per change and warnings for changes that could not be undone.</param>
    /// <returns>The router; disposing it undoes its changes in reverse order.</returns>
    /// <exception cref="TunException">The routing socket could not be opened.</exception>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>).</exception>
    public static IRouter Create(ILogger? logger = null) => Create(new RouterOptions(), logger);

    /// <summary>
    /// Opens a router. With <see cref="RouterOptions.JournalPath"/>, every change is written to that file (and flushed
    /// to disk) before it is made; if the file holds changes of a process that died, they are undone first, as by
    /// <see cref="RecoverLeftovers"/>.
    /// </summary>
    /// <param name="options">The router's options.</param>
    /// <param name="logger">Receives one debug message per change and warnings for changes that could not be undone.</param>
    /// <returns>The router; disposing it undoes its changes in reverse order and deletes the journal file.</returns>
    /// <exception cref="TunException">
    /// The routing socket could not be opened, or the journal file could not be created, is in use by another
    /// router, or holds leftovers that could not be undone.
    /// </exception>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>).</exception>
    public static IRouter Create(RouterOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (OperatingSystem.IsLinux())
        {
            return new LinuxRouter(logger, options.JournalPath);
        }

        if (OperatingSystem.IsMacOS())
        {
            return new MacOSRouter(logger, options.JournalPath);
        }

        if (OperatingSystem.IsWindows())
        {
            return new WindowsRouter(logger, options.JournalPath);
        }

        throw new PlatformNotSupportedException(
            $"Steer's router is only implemented for Linux, macOS and Windows; this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }

    /// <summary>
    /// Undoes what a process that died without disposing its router (kill -9, a crash) left behind according to the
    /// journal at <paramref name="journalPath"/>, in reverse order, then deletes the journal. Objects that are already
    /// gone — such as the routes of a TUN interface that vanished with its process — are not an error. A journal
    /// written before the last reboot is deleted without undoing anything (Linux).
    /// </summary>
    /// <param name="journalPath">The <see cref="RouterOptions.JournalPath"/> of the dead process's router.</param>
    /// <param name="logger">Receives one debug message per change undone.</param>
    /// <returns>The number of changes the journal still listed (undone now, or found already gone); 0 when there is no journal.</returns>
    /// <exception cref="TunException">
    /// The journal is in use by a running router, was written in another network namespace (it must be recovered from
    /// there: the calling thread's namespace counts), or some changes could not be undone (for example without root;
    /// the journal is then kept for another attempt).
    /// </exception>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>).</exception>
    public static int RecoverLeftovers(string journalPath, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(journalPath);
        if (!File.Exists(journalPath))
        {
            return 0;
        }

        ILogger log = logger ?? NullLogger.Instance;
        using IRouter router = Create(log);
        return ChangeJournal.Recover(journalPath, (IChangeUndoer)router, log);
    }
}
