using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Tun.Linux;

/// <summary>
/// Linux: marks the tunnel's own sockets with <c>SO_MARK</c>, so that a policy rule (<c>fwmark … lookup …</c>) routes
/// them past the tunnel's routes. The interface index is not used: Linux steers by the mark and policy routing.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LinuxSocketProtector : ISocketProtector
{
    private readonly SocketProtectorOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the protector; it reads <paramref name="options"/> at every <see cref="Protect"/>.</summary>
    internal LinuxSocketProtector(SocketProtectorOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        uint mark = options.FirewallMark;
        SocketProtectorLog.Created(
            _logger,
            (mark == 0 ? "none (firewall mark 0)" : "SO_MARK " + SocketProtectionEncoding.FormatMark(mark))
            + (options.InterfaceIndex != 0 ? "; the interface index is not used on Linux (policy routing on the mark)" : string.Empty));
    }

    /// <summary>True on Linux.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <inheritdoc/>
    public void Protect(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        uint mark = _options.FirewallMark;
        SocketOptionSetting[] settings = SocketProtectionEncoding.Linux(mark);
        foreach (SocketOptionSetting setting in settings)
        {
            try
            {
                socket.SetRawSocketOption(setting.Level, setting.Name, setting.Value);
            }
            catch (SocketException ex)
            {
                throw SocketProtectionEncoding.MarkFailed(SocketProtectionEncoding.Describe(socket), mark, ex);
            }
        }

        if (settings.Length > 0 && _logger.IsEnabled(LogLevel.Debug))
        {
            SocketProtectorLog.Protected(_logger, SocketProtectionEncoding.Describe(socket), "SO_MARK " + SocketProtectionEncoding.FormatMark(mark));
        }
    }
}
