using System.Globalization;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Tun.MacOS;

/// <summary>
/// macOS: binds the tunnel's own sockets to the physical interface with <c>IP_BOUND_IF</c> (IPv4) or
/// <c>IPV6_BOUND_IF</c> (IPv6, dual-mode included), so that they leave through it whatever routes point into the utun
/// interface. Option bytes: <see cref="SocketProtectionEncoding.MacOS"/>. Compiled here, never run on a Mac.
/// </summary>
[SupportedOSPlatform("macos")]
internal sealed class MacOSSocketProtector : ISocketProtector
{
    private readonly SocketProtectorOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the protector; it reads <paramref name="options"/> at every <see cref="Protect"/>.</summary>
    internal MacOSSocketProtector(SocketProtectorOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        SocketProtectorLog.Created(_logger, "IP_BOUND_IF / IPV6_BOUND_IF to the interface index current at each socket (now #"
            + options.InterfaceIndex.ToString(CultureInfo.InvariantCulture) + ")");
    }

    /// <summary>True on macOS.</summary>
    public static bool IsSupported => OperatingSystem.IsMacOS();

    /// <inheritdoc/>
    public void Protect(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        int index = _options.InterfaceIndex;
        SocketOptionSetting[] settings = SocketProtectionEncoding.MacOS(socket.AddressFamily, index);
        SocketProtectionEncoding.Apply(socket, settings, index, _logger);
    }
}
