using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Steer.Tun.Linux;

namespace Steer.Tun;

/// <summary>One <c>setsockopt</c> call: option level, option name and the value's bytes, with the option's C name.</summary>
/// <param name="Level">The option level (<c>SOL_SOCKET</c>, <c>IPPROTO_IP</c>, <c>IPPROTO_IPV6</c>) of the target OS.</param>
/// <param name="Name">The option number of the target OS.</param>
/// <param name="Value">The option value, exactly as passed to <c>setsockopt</c>.</param>
/// <param name="OptionName">The C name, for messages (<c>SO_MARK</c>).</param>
internal readonly record struct SocketOptionSetting(int Level, int Name, byte[] Value, string OptionName);

/// <summary>
/// The socket options each OS's <see cref="ISocketProtector"/> sets, as pure functions of the socket's family and the
/// options, so that the bytes for every OS are unit-tested on Linux. All six runtime identifiers Steer builds for are
/// little-endian; "host order" below is whatever the running machine uses.
/// </summary>
internal static class SocketProtectionEncoding
{
    /// <summary>Linux <c>SOL_SOCKET</c> (asm-generic/socket.h).</summary>
    internal const int LinuxSolSocket = 1;

    /// <summary>Linux <c>SO_MARK</c> (asm-generic/socket.h): u32 firewall mark, needs CAP_NET_ADMIN.</summary>
    internal const int LinuxSoMark = 36;

    /// <summary><c>IPPROTO_IP</c> (0 on Linux, macOS and Windows).</summary>
    internal const int IpProtoIp = 0;

    /// <summary><c>IPPROTO_IPV6</c> (41 on Linux, macOS and Windows).</summary>
    internal const int IpProtoIpv6 = 41;

    /// <summary>macOS <c>IP_BOUND_IF</c> (netinet/in.h): int interface index, host order; 0 unbinds.</summary>
    internal const int MacOSIpBoundIf = 25;

    /// <summary>macOS <c>IPV6_BOUND_IF</c> (netinet6/in6.h): int interface index, host order; 0 unbinds.</summary>
    internal const int MacOSIpv6BoundIf = 125;

    /// <summary>Windows <c>IP_UNICAST_IF</c> (ws2ipdef.h): DWORD interface index in network byte order.</summary>
    internal const int WindowsIpUnicastIf = 31;

    /// <summary>Windows <c>IPV6_UNICAST_IF</c> (ws2ipdef.h): DWORD interface index in host byte order.</summary>
    internal const int WindowsIpv6UnicastIf = 31;

    /// <summary>Linux: <c>SO_MARK</c> with the mark as a u32 in host order, or nothing for mark 0. Any socket family.</summary>
    internal static SocketOptionSetting[] Linux(uint firewallMark)
        => firewallMark == 0 ? [] : [new SocketOptionSetting(LinuxSolSocket, LinuxSoMark, HostOrder(firewallMark), "SO_MARK")];

    /// <summary>
    /// macOS: <c>IP_BOUND_IF</c> for an IPv4 socket, <c>IPV6_BOUND_IF</c> for an IPv6 socket, or nothing for index 0.
    /// A dual-mode IPv6 socket gets <c>IPV6_BOUND_IF</c> only: XNU stores the binding in the socket's protocol control
    /// block (<c>inp_bindif</c>, shared by both options), which the IPv4 output path of v4-mapped destinations uses too,
    /// while <c>IP_BOUND_IF</c> is an IPv4-socket option.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="family"/> is neither IPv4 nor IPv6.</exception>
    internal static SocketOptionSetting[] MacOS(AddressFamily family, int interfaceIndex)
    {
        RequireIp(family);
        if (interfaceIndex == 0)
        {
            return [];
        }

        return family == AddressFamily.InterNetwork
            ? [new SocketOptionSetting(IpProtoIp, MacOSIpBoundIf, HostOrder((uint)interfaceIndex), "IP_BOUND_IF")]
            : [new SocketOptionSetting(IpProtoIpv6, MacOSIpv6BoundIf, HostOrder((uint)interfaceIndex), "IPV6_BOUND_IF")];
    }

    /// <summary>
    /// Windows: <c>IP_UNICAST_IF</c> with the index in network byte order for an IPv4 socket (the option's value is read
    /// as an IPv4 address, and an address in 0.0.0.0/8 stands for an interface index), <c>IPV6_UNICAST_IF</c> with the
    /// index in host byte order for an IPv6 socket, both for a dual-mode socket (IPv6 first); nothing for index 0.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="family"/> is neither IPv4 nor IPv6.</exception>
    internal static SocketOptionSetting[] Windows(AddressFamily family, bool dualMode, int interfaceIndex)
    {
        RequireIp(family);
        if (interfaceIndex == 0)
        {
            return [];
        }

        var ipv4 = new SocketOptionSetting(IpProtoIp, WindowsIpUnicastIf, NetworkOrder((uint)interfaceIndex), "IP_UNICAST_IF");
        var ipv6 = new SocketOptionSetting(IpProtoIpv6, WindowsIpv6UnicastIf, HostOrder((uint)interfaceIndex), "IPV6_UNICAST_IF");
        if (family == AddressFamily.InterNetwork)
        {
            return [ipv4];
        }

        return dualMode ? [ipv6, ipv4] : [ipv6];
    }

    /// <summary>
    /// Sets the interface-binding options of macOS or Windows on <paramref name="socket"/> and logs what was done;
    /// an empty <paramref name="settings"/> (index 0) is logged as "not bound".
    /// </summary>
    /// <exception cref="TunException">The OS refused an option (see <see cref="BindFailed"/>).</exception>
    internal static void Apply(Socket socket, SocketOptionSetting[] settings, int interfaceIndex, ILogger logger)
    {
        if (settings.Length == 0)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                SocketProtectorLog.NotBound(logger, Describe(socket));
            }

            return;
        }

        foreach (SocketOptionSetting setting in settings)
        {
            try
            {
                socket.SetRawSocketOption(setting.Level, setting.Name, setting.Value);
            }
            catch (SocketException ex)
            {
                throw BindFailed(socket, setting, interfaceIndex, ex);
            }
        }

        if (logger.IsEnabled(LogLevel.Debug))
        {
            string index = interfaceIndex.ToString(CultureInfo.InvariantCulture);
            SocketProtectorLog.Protected(logger, Describe(socket), string.Join(", ", settings.Select(s => $"{s.OptionName} #{index}")));
        }
    }

    /// <summary>
    /// The error for a socket option the OS refused on macOS or Windows, e.g. <c>Cannot bind a UDP IPv6 socket to
    /// interface #12 (IPV6_BOUND_IF): No such device or address.</c>
    /// </summary>
    internal static TunException BindFailed(Socket socket, SocketOptionSetting option, int interfaceIndex, SocketException error)
        => new($"Cannot bind {Describe(socket)} to interface #{interfaceIndex.ToString(CultureInfo.InvariantCulture)} ({option.OptionName}): {error.Message}. "
            + "The interface may be gone; set SocketProtectorOptions.InterfaceIndex to the current physical interface.", error)
        {
            ErrorCode = error.ErrorCode,
        };

    /// <summary>
    /// Linux: the error for a refused <c>SO_MARK</c>. With EPERM (no CAP_NET_ADMIN) it says that the capability is
    /// needed and how to grant it, and sets <see cref="TunException.IsPermissionDenied"/>. The runtime reports both
    /// EPERM and EACCES as <see cref="SocketError.AccessDenied"/> (and <see cref="System.ComponentModel.Win32Exception.NativeErrorCode"/>
    /// 13); the kernel refuses SO_MARK only with EPERM, so that is the errno given.
    /// </summary>
    internal static TunException MarkFailed(string socketDescription, uint mark, SocketException error)
    {
        int errno = error.SocketErrorCode == SocketError.AccessDenied ? LinuxErrors.EPERM : error.NativeErrorCode;
        return LinuxErrors.OperationFailed($"set SO_MARK {FormatMark(mark)} on {socketDescription}", errno, null, Environment.ProcessPath);
    }

    /// <summary>A firewall mark as <c>ip rule</c> prints it: <c>0x5354</c>.</summary>
    internal static string FormatMark(uint mark) => "0x" + mark.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>The socket's kind for messages, e.g. <c>a TCP IPv4 socket</c> or <c>a UDP dual-mode IPv6 socket</c>.</summary>
    internal static string Describe(Socket socket)
    {
        string protocol = socket.ProtocolType switch
        {
            ProtocolType.Tcp => "TCP",
            ProtocolType.Udp => "UDP",
            _ => socket.SocketType.ToString(),
        };
        string family = socket.AddressFamily switch
        {
            AddressFamily.InterNetwork => "IPv4",
            AddressFamily.InterNetworkV6 => IsDualMode(socket) ? "dual-mode IPv6" : "IPv6",
            _ => socket.AddressFamily.ToString(),
        };
        return $"a {protocol} {family} socket";
    }

    /// <summary>True for an IPv6 socket that also carries IPv4 (IPV6_V6ONLY off).</summary>
    internal static bool IsDualMode(Socket socket) => socket.AddressFamily == AddressFamily.InterNetworkV6 && socket.DualMode;

    private static void RequireIp(AddressFamily family)
    {
        if (family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"Only IPv4 and IPv6 sockets can be bound to an interface; this socket's family is {family}.", "socket");
        }
    }

    private static byte[] HostOrder(uint value)
    {
        byte[] bytes = new byte[sizeof(uint)];
        MemoryMarshal.Write(bytes, in value);
        return bytes;
    }

    private static byte[] NetworkOrder(uint value)
    {
        byte[] bytes = new byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }
}
