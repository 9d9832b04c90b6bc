using System.Globalization;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Tun.Windows;

/// <summary>
/// Windows: binds the tunnel's own sockets to the physical interface with <c>IP_UNICAST_IF</c> (index in network byte
/// order) and <c>IPV6_UNICAST_IF</c> (index in host byte order), both for a dual-mode socket, so that they leave through
/// it whatever routes point into the Wintun adapter. Option bytes: <see cref="SocketProtectionEncoding.Windows"/>.
/// Compiled here, never run on Windows.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class WindowsSocketProtector : ISocketProtector
{
    private readonly SocketProtectorOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the protector; it reads <paramref name="options"/> at every <see cref="Protect"/>.</summary>
    internal WindowsSocketProtector(SocketProtectorOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        SocketProtectorLog.Created(_logger, "IP_UNICAST_IF / IPV6_UNICAST_IF to the interface index current at each socket (now #"
            + options.InterfaceIndex.ToString(CultureInfo.InvariantCulture) + ")");
    }

    /// <summary>True on Windows.</summary>
    public static bool IsSupported => OperatingSystem.IsWindows();

    /// <inheritdoc/>
    public void Protect(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        int index = _options.InterfaceIndex;
        SocketOptionSetting[] settings = SocketProtectionEncoding.Windows(socket.AddressFamily, SocketProtectionEncoding.IsDualMode(socket), index);
        SocketProtectionEncoding.Apply(socket, settings, index, _logger);
    }
}
