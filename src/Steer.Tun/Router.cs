using Microsoft.Extensions.Logging;
using Steer.Tun.Linux;

namespace Steer.Tun;

/// <summary>Creates the <see cref="IRouter"/> of the operating system Steer runs on.</summary>
public static class Router
{
    /// <summary>True when this operating system has a router implementation (Linux today, over rtnetlink).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Opens a router. Changes need root or CAP_NET_ADMIN; lookups do not.</summary>
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

        throw new PlatformNotSupportedException(
            $"Steer's router is only implemented for Linux; this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }
}
