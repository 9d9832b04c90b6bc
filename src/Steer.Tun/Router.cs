using Microsoft.Extensions.Logging;
using Steer.Tun.Linux;
using Steer.Tun.MacOS;
using Steer.Tun.Windows;

namespace Steer.Tun;

/// <summary>Creates the <see cref="IRouter"/> of the operating system Steer runs on.</summary>
public static class Router
{
    /// <summary>True when this operating system has a router implementation (Linux over rtnetlink, macOS over PF_ROUTE, Windows over the IP Helper API).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsWindows();

    /// <summary>
    /// Opens a router. Changes need root or CAP_NET_ADMIN on Linux, root on macOS and Administrator rights on Windows;
    /// lookups do not.
    /// </summary>
    /// <param name="logger">Receives one debug message per change and warnings for changes that could not be undone.</param>
    /// <returns>The router; disposing it undoes its changes in reverse order.</returns>
    /// <exception cref="TunException">The routing socket could not be opened.</exception>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>).</exception>
    public static IRouter Create(ILogger? logger = null)
    {
        if (OperatingSystem.IsLinux())
        {
            return new LinuxRouter(logger);
        }

        if (OperatingSystem.IsMacOS())
        {
            return new MacOSRouter(logger);
        }

        if (OperatingSystem.IsWindows())
        {
            return new WindowsRouter(logger);
        }

        throw new PlatformNotSupportedException(
            $"Steer's router is only implemented for Linux, macOS and Windows; this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }
}
