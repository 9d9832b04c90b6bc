namespace Steer.Lab;

/// <summary>Checks what the lab needs from the machine, with messages that tell the user how to fix it.</summary>
public static class LabPrerequisites
{
    private const string InstallHint = " (scripts/install-deps.sh installs everything the lab needs)";

    private static readonly string[] s_fallbackDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>The TUN clone device that the Steer client opens.</summary>
    public const string TunDevicePath = "/dev/net/tun";

    /// <summary>
    /// Returns why the lab cannot run here, or <see langword="null"/> when it can: not Linux, not root, no <c>ip</c>
    /// (iproute2), no <c>sysctl</c> (procps), or, with <paramref name="requireTun"/>, no <c>/dev/net/tun</c>.
    /// </summary>
    /// <param name="requireTun">Also require <c>/dev/net/tun</c> (needed by the Steer client, not by the topology).</param>
    /// <returns>The first unmet prerequisite as a sentence, or <see langword="null"/>.</returns>
    public static string? GetUnmetReason(bool requireTun = false)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "the lab needs Linux (network namespaces)";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "the lab needs root (network namespaces)";
        }

        if (FindExecutable("ip") is null)
        {
            return "the lab needs the `ip` command: install iproute2" + InstallHint;
        }

        if (FindExecutable("sysctl") is null)
        {
            return "the lab needs the `sysctl` command: install procps" + InstallHint;
        }

        if (requireTun && !File.Exists(TunDevicePath))
        {
            return $"{TunDevicePath} is missing: load the tun module (modprobe tun)" + InstallHint;
        }

        return null;
    }

    /// <summary>Throws a <see cref="LabException"/> with the reason from <see cref="GetUnmetReason"/>, if any.</summary>
    /// <param name="requireTun">Also require <c>/dev/net/tun</c>.</param>
    /// <exception cref="LabException">A prerequisite is missing.</exception>
    public static void EnsureMet(bool requireTun = false)
    {
        if (GetUnmetReason(requireTun) is { } reason)
        {
            throw new LabException(reason);
        }
    }

    /// <summary>
    /// Finds an executable on <c>PATH</c>, then in the usual sbin/bin directories (a non-login root shell may lack
    /// the sbin directories on <c>PATH</c>).
    /// </summary>
    /// <param name="name">The bare command name, e.g. <c>ip</c>.</param>
    /// <returns>The full path, or <see langword="null"/> when not found.</returns>
    public static string? FindExecutable(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return IsExecutableFile(name) ? Path.GetFullPath(name) : null;
        }

        string[] pathDirectories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (string directory in pathDirectories.Concat(s_fallbackDirectories))
        {
            string candidate = Path.Combine(directory, name);
            if (IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }
}
