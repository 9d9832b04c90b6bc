using System.Globalization;
using System.Runtime.InteropServices;

namespace Steer.Tun.Tests;

/// <summary>
/// Gates tests that change the host's network configuration. They skip with a reason on a developer machine without
/// privileges, but fail under CI=true, which runs as root and must not silently skip them.
/// </summary>
internal static class Elevation
{
    private const int CapNetAdmin = 12;

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static bool IsRoot => OperatingSystem.IsLinux() && Tmds.Linux.LibC.geteuid() == 0;

    /// <summary>True when the effective capability set holds CAP_NET_ADMIN (root normally has it).</summary>
    public static bool HasCapNetAdmin
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return false;
            }

            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                    && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong caps))
                {
                    return (caps & (1UL << CapNetAdmin)) != 0;
                }
            }

            return false;
        }
    }

    public static void Require(bool condition, string reason)
    {
        if (condition)
        {
            return;
        }

        if (IsCi)
        {
            Assert.Fail($"{reason} CI=true runs as root, so this test must run there rather than skip.");
        }

        Assert.Skip(reason);
    }

    /// <summary>Linux, CAP_NET_ADMIN and /dev/net/tun.</summary>
    public static void RequireTun()
    {
        Require(OperatingSystem.IsLinux(), "TUN devices are only implemented on Linux.");
        Require(HasCapNetAdmin, "Creating a TUN device needs root or CAP_NET_ADMIN; run the tests with sudo.");
        Require(File.Exists("/dev/net/tun"), "/dev/net/tun is missing (load the tun module: modprobe tun).");
    }

    /// <summary>Linux, root and iproute2: tests that make their changes in a network namespace of their own.</summary>
    public static void RequireNetworkNamespaces()
    {
        Require(OperatingSystem.IsLinux(), "Network namespaces are Linux-only.");
        Require(IsRoot, "Creating a network namespace needs root; run the tests with sudo.");
        bool hasIp;
        try
        {
            hasIp = HostCommands.Run("ip", "-V").ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            hasIp = false;
        }

        Require(hasIp, "The ip command is missing: apt-get install iproute2.");
    }

    /// <summary>Root (nftables and /proc/sys) and libnftables.</summary>
    public static void RequireNat()
    {
        Require(OperatingSystem.IsLinux(), "NAT is only implemented on Linux.");
        Require(IsRoot, "Enabling NAT needs root (nftables and /proc/sys); run the tests with sudo.");
        bool hasLibrary = NativeLibrary.TryLoad("libnftables.so.1", out nint handle);
        if (hasLibrary)
        {
            NativeLibrary.Free(handle);
        }

        Require(hasLibrary, "libnftables.so.1 is missing: apt-get install nftables.");
    }
}
