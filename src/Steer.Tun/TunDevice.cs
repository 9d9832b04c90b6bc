using Microsoft.Extensions.Logging;
using Steer.Tun.Linux;
using Steer.Tun.MacOS;
using Steer.Tun.Windows;

namespace Steer.Tun;

/// <summary>Creates the TUN device of the operating system Steer runs on.</summary>
public static class TunDevice
{
    /// <summary>
    /// True when this operating system has a TUN implementation (Linux, macOS utun, Windows Wintun; on Windows,
    /// <see cref="Create"/> also needs wintun.dll next to the executable).
    /// </summary>
    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsWindows();

    /// <summary>Creates a TUN interface. The interface is down and has no addresses; configure it with an <see cref="IRouter"/>.</summary>
    /// <param name="options">Name and MTU of the interface.</param>
    /// <param name="logger">Receives lifecycle messages; none per packet.</param>
    /// <returns>The open device. Disposing it removes the interface.</returns>
    /// <exception cref="ArgumentException">An option is invalid; the parameter name names the option.</exception>
    /// <exception cref="TunException">The OS refused, or wintun.dll is missing on Windows (the message says where to get it);
    /// <see cref="TunException.IsPermissionDenied"/> is set when privileges are missing.</exception>
    /// <exception cref="PlatformNotSupportedException">The OS has no TUN support in Steer (see <see cref="IsSupported"/>).</exception>
    public static ITunDevice Create(TunDeviceOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        if (OperatingSystem.IsLinux())
        {
            return LinuxTunDevice.Create(options, logger);
        }

        if (OperatingSystem.IsMacOS())
        {
            return MacOSTunDevice.Create(options, logger);
        }

        if (OperatingSystem.IsWindows())
        {
            return WindowsTunDevice.Create(options, logger);
        }

        throw new PlatformNotSupportedException(
            $"Steer's TUN devices are only implemented for Linux, macOS and Windows; this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }
}
