using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Lab;

public sealed partial class LabTopology
{
    private const string NetnsDirectory = "/run/netns";
    private static readonly TimeSpan s_cleanupCommandTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_processExitTimeout = TimeSpan.FromSeconds(5);

    private static string IpPath => LabPrerequisites.FindExecutable("ip") ?? "ip";

    /// <summary>
    /// Removes the namespaces of the lab with <paramref name="prefix"/> (<c>&lt;prefix&gt;client</c>,
    /// <c>&lt;prefix&gt;gw</c>, <c>&lt;prefix&gt;inet</c>) left by a crashed run or by <c>steer lab up</c>, killing
    /// every process still inside them. Only those exact names are touched: <c>steer-</c> does not match a test lab
    /// named <c>steer-t1234-client</c>.
    /// </summary>
    /// <param name="prefix">The lab's prefix, e.g. <see cref="LabNames.DefaultPrefix"/>.</param>
    /// <param name="logger">Logs what is removed; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Stops before the next namespace (a namespace in progress is finished).</param>
    /// <returns>How many namespaces were removed (0 when none existed).</returns>
    /// <exception cref="LabException">A prerequisite is missing, or a namespace could not be removed.</exception>
    public static async Task<int> CleanupStaleAsync(string prefix, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        LabTopologyOptions.ValidatePrefix(prefix, nameof(prefix));
        logger ??= NullLogger.Instance;
        string[] names = [prefix + LabNames.InetSuffix, prefix + LabNames.GatewaySuffix, prefix + LabNames.ClientSuffix];
        if (!names.Any(NamespaceExists))
        {
            return 0;
        }

        LabPrerequisites.EnsureMet();
        int removed = 0;
        foreach (string ns in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (await RemoveNamespaceAsync(ns, logger).ConfigureAwait(false))
            {
                removed++;
            }
        }

        return removed;
    }

    /// <summary>Lists the existing network namespaces whose names start with <paramref name="prefix"/>.</summary>
    /// <param name="prefix">The start of the names; empty lists all named namespaces.</param>
    /// <returns>The names, sorted.</returns>
    public static IReadOnlyList<string> ListNamespaces(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!Directory.Exists(NetnsDirectory))
        {
            return [];
        }

        return Directory.EnumerateFileSystemEntries(NetnsDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    private static bool NamespaceExists(string ns) => File.Exists(Path.Combine(NetnsDirectory, ns));

    private static async Task RemoveNamespaceQuietlyAsync(string ns, ILogger logger)
    {
        try
        {
            await RemoveNamespaceAsync(ns, logger).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LabException or TimeoutException or IOException)
        {
            LabLog.CleanupFailed(logger, ns, ex);
        }
    }

    /// <summary>
    /// The per-namespace configuration folder <c>/etc/netns/&lt;ns&gt;</c> (its resolv.conf is what <c>ip netns exec</c>
    /// shows as /etc/resolv.conf inside the namespace). <c>ip netns del</c> leaves it behind.
    /// </summary>
    public static string GetNamespaceEtcDirectory(string ns) => Path.Combine("/etc/netns", ns);

    private static void RemoveNamespaceEtc(string ns)
    {
        try
        {
            Directory.Delete(GetNamespaceEtcDirectory(ns), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Kills the processes inside <paramref name="ns"/>, then deletes it. Not cancellable: cleanup must finish.</summary>
    private static async Task<bool> RemoveNamespaceAsync(string ns, ILogger logger)
    {
        RemoveNamespaceEtc(ns);
        if (!NamespaceExists(ns))
        {
            return false;
        }

        // A namespace outlives `ip netns del` while processes are inside it: kill them first. The namespace's identity
        // ("net:[inode]") also finds a process that entered it just before the delete (an `ip netns exec` in flight).
        string? identity = await GetNamespaceIdentityAsync(ns).ConfigureAwait(false);
        DateTime deadline = DateTime.UtcNow + s_processExitTimeout;
        while (true)
        {
            IReadOnlyList<int> pids = identity is null ? await GetPidsAsync(ns).ConfigureAwait(false) : FindProcessesIn(identity);
            if (pids.Count == 0)
            {
                break;
            }

            KillAll(pids, ns, logger, deadline);
            await Task.Delay(s_pollInterval).ConfigureAwait(false);
        }

        LabCommandResult result = await LabProcess.RunAsync(null, IpPath, ["netns", "del", ns], s_cleanupCommandTimeout)
            .ConfigureAwait(false);
        if (!result.Succeeded && NamespaceExists(ns))
        {
            throw new LabException($"cannot remove network namespace {ns}: {result}");
        }

        if (identity is not null)
        {
            // Catch stragglers that entered between the last scan and the delete: two clean scans in a row.
            for (int cleanScans = 0; cleanScans < 2;)
            {
                await Task.Delay(s_pollInterval).ConfigureAwait(false);
                IReadOnlyList<int> pids = FindProcessesIn(identity);
                cleanScans = pids.Count == 0 ? cleanScans + 1 : 0;
                KillAll(pids, ns, logger, deadline);
            }
        }

        LabLog.NamespaceRemoved(logger, ns);
        return result.Succeeded;
    }

    private static void KillAll(IReadOnlyList<int> pids, string ns, ILogger logger, DateTime deadline)
    {
        if (pids.Count > 0 && DateTime.UtcNow > deadline)
        {
            throw new LabException(string.Create(
                CultureInfo.InvariantCulture,
                $"processes {string.Join(", ", pids)} in network namespace {ns} did not exit after SIGKILL"));
        }

        foreach (int pid in pids)
        {
            if (pid != Environment.ProcessId && Interop.Libc.Kill(pid, Interop.Libc.SIGKILL) == 0)
            {
                LabLog.KilledLeftoverProcess(logger, pid, ns);
            }
        }
    }

    /// <summary>Returns the namespace's identity as the kernel shows it in /proc/PID/ns/net ("net:[4026532…]").</summary>
    private static async Task<string?> GetNamespaceIdentityAsync(string ns)
    {
        try
        {
            LabCommandResult result = await LabProcess.RunAsync(ns, "readlink", ["/proc/self/ns/net"], s_cleanupCommandTimeout)
                .ConfigureAwait(false);
            string identity = result.StandardOutput.Trim();
            return result.Succeeded && identity.StartsWith("net:[", StringComparison.Ordinal) ? identity : null;
        }
        catch (Exception ex) when (ex is LabException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>Lists the processes whose network namespace is <paramref name="identity"/> (like <c>ip netns pids</c>).</summary>
    private static List<int> FindProcessesIn(string identity)
    {
        var pids = new List<int>();
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                if (new FileInfo(Path.Combine(directory, "ns", "net")).LinkTarget == identity)
                {
                    pids.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process exited meanwhile, or is a kernel thread we may not inspect.
            }
        }

        return pids;
    }

    private static async Task<IReadOnlyList<int>> GetPidsAsync(string ns)
    {
        LabCommandResult result = await LabProcess.RunAsync(null, IpPath, ["netns", "pids", ns], s_cleanupCommandTimeout)
            .ConfigureAwait(false);
        if (!result.Succeeded)
        {
            return NamespaceExists(ns) ? throw new LabException($"cannot list the processes in {ns}: {result}") : [];
        }

        var pids = new List<int>();
        foreach (string line in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }
}
