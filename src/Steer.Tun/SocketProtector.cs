using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Steer.Tun.Linux;
using Steer.Tun.MacOS;
using Steer.Tun.Windows;

namespace Steer.Tun;

/// <summary>Creates the <see cref="ISocketProtector"/> of the operating system Steer runs on.</summary>
public static class SocketProtector
{
    /// <summary>True on Linux (<c>SO_MARK</c>), macOS (<c>IP_BOUND_IF</c>) and Windows (<c>IP_UNICAST_IF</c>).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsWindows();

    /// <summary>A protector that leaves every socket as it is (for tests, and for hosts that route Steer's sockets themselves).</summary>
    public static ISocketProtector None { get; } = new NoSocketProtector();

    /// <summary>
    /// Creates the protector of this OS: on Linux it marks sockets with <see cref="SocketProtectorOptions.FirewallMark"/>;
    /// on macOS and Windows it binds them to <see cref="SocketProtectorOptions.InterfaceIndex"/>. Nothing is changed
    /// until <see cref="ISocketProtector.Protect"/> is called.
    /// </summary>
    /// <param name="options">The mark and interface index. The protector keeps this object and reads it at every
    /// <see cref="ISocketProtector.Protect"/> call, so that the interface index can follow the physical interface.
    /// Null: a new <see cref="SocketProtectorOptions"/> (mark 0x5354, not bound).</param>
    /// <param name="logger">Receives one debug message at creation and one per protected socket.</param>
    /// <exception cref="PlatformNotSupportedException">The OS is not supported (see <see cref="IsSupported"/>).</exception>
    public static ISocketProtector Create(SocketProtectorOptions? options = null, ILogger? logger = null)
    {
        options ??= new SocketProtectorOptions();
        if (OperatingSystem.IsLinux())
        {
            return new LinuxSocketProtector(options, logger);
        }

        if (OperatingSystem.IsMacOS())
        {
            return new MacOSSocketProtector(options, logger);
        }

        if (OperatingSystem.IsWindows())
        {
            return new WindowsSocketProtector(options, logger);
        }

        throw new PlatformNotSupportedException(
            $"Steer's socket protection is only implemented for Linux, macOS and Windows; this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }

    private sealed class NoSocketProtector : ISocketProtector
    {
        public void Protect(Socket socket) => ArgumentNullException.ThrowIfNull(socket);
    }
}
