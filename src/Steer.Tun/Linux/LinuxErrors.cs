using System.Globalization;
using System.Runtime.InteropServices;

namespace Steer.Tun.Linux;

/// <summary>
/// Turns Linux errno values into <see cref="TunException"/>s whose messages name the operation, the object and the
/// OS error, with an explicit hint for missing privileges. Pure functions, so that the messages can be unit-tested.
/// </summary>
internal static class LinuxErrors
{
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int ESRCH = 3;
    internal const int EINTR = 4;
    internal const int EIO = 5;
    internal const int ENXIO = 6;
    internal const int EBADF = 9;
    internal const int EAGAIN = 11;
    internal const int ENOMEM = 12;
    internal const int EACCES = 13;
    internal const int EFAULT = 14;
    internal const int EBUSY = 16;
    internal const int EEXIST = 17;
    internal const int ENODEV = 19;
    internal const int EINVAL = 22;
    internal const int ENFILE = 23;
    internal const int EMFILE = 24;
    internal const int ENOSPC = 28;
    internal const int ERANGE = 34;
    internal const int EMSGSIZE = 90;
    internal const int EPROTONOSUPPORT = 93;
    internal const int EOPNOTSUPP = 95;
    internal const int EAFNOSUPPORT = 97;
    internal const int EADDRINUSE = 98;
    internal const int EADDRNOTAVAIL = 99;
    internal const int ENETDOWN = 100;
    internal const int ENETUNREACH = 101;
    internal const int ENOBUFS = 105;
    internal const int ETIMEDOUT = 110;
    internal const int EHOSTUNREACH = 113;

    /// <summary>The symbolic name of an errno value (<c>EPERM</c>), or <c>errno N</c> for uncommon ones.</summary>
    internal static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EIO => "EIO",
        ENXIO => "ENXIO",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ENFILE => "ENFILE",
        EMFILE => "EMFILE",
        ENOSPC => "ENOSPC",
        ERANGE => "ERANGE",
        EMSGSIZE => "EMSGSIZE",
        EPROTONOSUPPORT => "EPROTONOSUPPORT",
        EOPNOTSUPP => "EOPNOTSUPP",
        EAFNOSUPPORT => "EAFNOSUPPORT",
        EADDRINUSE => "EADDRINUSE",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        ENETDOWN => "ENETDOWN",
        ENETUNREACH => "ENETUNREACH",
        ENOBUFS => "ENOBUFS",
        ETIMEDOUT => "ETIMEDOUT",
        EHOSTUNREACH => "EHOSTUNREACH",
        _ => "errno " + errno.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The C library's text for an errno value (<c>Operation not permitted</c>).</summary>
    internal static string Text(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>True for EPERM and EACCES.</summary>
    internal static bool IsPermissionDenied(int errno) => errno is EPERM or EACCES;

    /// <summary>
    /// The hint appended to every permission error: how to run with root or grant CAP_NET_ADMIN to
    /// <paramref name="executablePath"/> (or a placeholder when the process runs under the <c>dotnet</c> host,
    /// which must not be given the capability).
    /// </summary>
    internal static string PrivilegeHint(string? executablePath)
    {
        string target = string.IsNullOrEmpty(executablePath)
            || string.Equals(Path.GetFileNameWithoutExtension(executablePath), "dotnet", StringComparison.Ordinal)
            ? "<path to the steer executable>"
            : executablePath;
        return "Run with sudo, or grant the capability: sudo setcap cap_net_admin+ep " + target;
    }

    /// <summary>
    /// The error for a failed step of creating a TUN device.
    /// </summary>
    /// <param name="deviceName">The requested interface name.</param>
    /// <param name="call">The failing call, for example <c>open /dev/net/tun</c> or <c>ioctl(TUNSETIFF)</c>.</param>
    /// <param name="errno">The errno the call returned.</param>
    /// <param name="executablePath">The running executable, for the setcap hint.</param>
    internal static TunException TunCreateFailed(string deviceName, string call, int errno, string? executablePath)
    {
        string what = $"Creating TUN device '{deviceName}'";
        if (IsPermissionDenied(errno))
        {
            return new TunException($"{what} needs root or CAP_NET_ADMIN ({call}: {Text(errno)}). {PrivilegeHint(executablePath)}")
            {
                ErrorCode = errno,
                IsPermissionDenied = true,
            };
        }

        string detail = (call.StartsWith("open", StringComparison.Ordinal), errno) switch
        {
            (true, ENOENT) => " /dev/net/tun does not exist: load the tun kernel module (sudo modprobe tun); in a container, pass the device in (--device /dev/net/tun).",
            (true, ENODEV or ENXIO) => " The kernel has no TUN support loaded: load the tun kernel module (sudo modprobe tun).",
            (false, EBUSY) => " Another process already uses a TUN device with this name; choose another name or use a name with %d.",
            (false, EINVAL) => " The name is invalid or belongs to an interface that is not a TUN device; choose another name.",
            _ => string.Empty,
        };
        return new TunException($"{what} failed ({call}: {Text(errno)}, {Name(errno)}).{detail}") { ErrorCode = errno };
    }

    /// <summary>
    /// The error for a failed configuration change, e.g. <c>Cannot add route 198.18.2.0/24 dev #7 table 254:
    /// No such device (ENODEV).</c>
    /// </summary>
    /// <param name="operation">The operation and its object, in lower case (<c>add route 198.18.2.0/24 dev #7 table 254</c>).</param>
    /// <param name="errno">The errno the kernel returned.</param>
    /// <param name="kernelMessage">The extended-ack text the kernel sent with the error, if any.</param>
    /// <param name="executablePath">The running executable, for the setcap hint.</param>
    internal static TunException OperationFailed(string operation, int errno, string? kernelMessage, string? executablePath)
    {
        string kernel = string.IsNullOrEmpty(kernelMessage) ? string.Empty : $" Kernel: {kernelMessage}.";
        if (IsPermissionDenied(errno))
        {
            return new TunException(
                $"Cannot {operation}: this needs root or CAP_NET_ADMIN ({Text(errno)}).{kernel} {PrivilegeHint(executablePath)}")
            {
                ErrorCode = errno,
                IsPermissionDenied = true,
            };
        }

        return new TunException($"Cannot {operation}: {Text(errno)} ({Name(errno)}).{kernel}") { ErrorCode = errno };
    }

    /// <summary>The error for a failed packet read or write on a TUN device.</summary>
    /// <param name="direction"><c>read from</c> or <c>write to</c>.</param>
    /// <param name="deviceName">The interface name.</param>
    /// <param name="errno">The errno, or 0 when unknown.</param>
    /// <param name="errorText">The OS error text.</param>
    /// <param name="inner">The original exception.</param>
    internal static TunException PacketIoFailed(string direction, string deviceName, int errno, string errorText, Exception? inner)
    {
        string hint = errno switch
        {
            EIO => " The interface is down; bring it up (IRouter.SetInterfaceUp) before writing packets.",
            EINVAL => " The packet is not a valid IPv4 or IPv6 packet.",
            EBADF => " The device has been closed.",
            _ => string.Empty,
        };
        string code = errno == 0 ? string.Empty : $", {Name(errno)}";
        string message = $"Cannot {direction} TUN device '{deviceName}': {errorText}{code}.{hint}";
        return inner is null
            ? new TunException(message) { ErrorCode = errno }
            : new TunException(message, inner) { ErrorCode = errno };
    }
}
