using System.Globalization;

namespace Steer.Tun.MacOS;

/// <summary>
/// macOS errno values (they differ from Linux's above 34) and the <see cref="TunException"/>s built from them, with
/// an explicit hint for missing privileges. Pure functions, so that the messages can be unit-tested anywhere.
/// </summary>
internal static class MacOSErrors
{
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int ESRCH = 3;
    internal const int EINTR = 4;
    internal const int EIO = 5;
    internal const int ENXIO = 6;
    internal const int EBADF = 9;
    internal const int ENOMEM = 12;
    internal const int EACCES = 13;
    internal const int EBUSY = 16;
    internal const int EEXIST = 17;
    internal const int ENODEV = 19;
    internal const int EINVAL = 22;
    internal const int EAGAIN = 35;
    internal const int EMSGSIZE = 40;
    internal const int EPROTONOSUPPORT = 43;
    internal const int EAFNOSUPPORT = 47;
    internal const int EADDRINUSE = 48;
    internal const int EADDRNOTAVAIL = 49;
    internal const int ENETDOWN = 50;
    internal const int ENETUNREACH = 51;
    internal const int ENOBUFS = 55;
    internal const int ETIMEDOUT = 60;
    internal const int EHOSTUNREACH = 65;

    /// <summary>The symbolic name of a macOS errno value, or <c>errno N</c>.</summary>
    internal static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EIO => "EIO",
        ENXIO => "ENXIO",
        EBADF => "EBADF",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        EAGAIN => "EAGAIN",
        EMSGSIZE => "EMSGSIZE",
        EPROTONOSUPPORT => "EPROTONOSUPPORT",
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

    /// <summary>
    /// <c>strerror</c> text and symbolic name (<c>File exists, EEXIST</c>) on macOS; elsewhere (unit tests) the
    /// symbolic name only, since the local C library would describe a different error under the same number.
    /// </summary>
    internal static string Describe(int errno)
        => OperatingSystem.IsMacOS() ? $"{System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}, {Name(errno)}" : Name(errno);

    /// <summary>True for EPERM and EACCES.</summary>
    internal static bool IsPermissionDenied(int errno) => errno is EPERM or EACCES;

    /// <summary>The hint added to every permission error.</summary>
    internal const string PrivilegeHint = "Creating utun interfaces and changing routes on macOS needs root: run steer with sudo.";

    /// <summary>The error for a failed step of creating a utun device, e.g. <c>connect(utun_control, unit 8)</c>.</summary>
    internal static TunException TunCreateFailed(string deviceName, string call, int errno)
    {
        string what = $"Creating utun device '{deviceName}'";
        if (IsPermissionDenied(errno))
        {
            return new TunException($"{what} needs root ({call}: {Describe(errno)}). {PrivilegeHint}")
            {
                ErrorCode = errno,
                IsPermissionDenied = true,
            };
        }

        string detail = errno switch
        {
            EBUSY => " That utun unit is in use by another process; ask for utun%d to get the next free one.",
            ENOENT when call.Contains("CTLIOCGINFO", StringComparison.Ordinal) => " The kernel has no utun control (com.apple.net.utun_control).",
            _ => string.Empty,
        };
        return new TunException($"{what} failed ({call}: {Describe(errno)}).{detail}") { ErrorCode = errno };
    }

    /// <summary>The error for a failed configuration change, e.g. <c>Cannot add route 10.0.0.0/8 dev #12: EEXIST</c>.</summary>
    internal static TunException OperationFailed(string operation, int errno)
    {
        if (IsPermissionDenied(errno))
        {
            return new TunException($"Cannot {operation}: this needs root ({Describe(errno)}). {PrivilegeHint}")
            {
                ErrorCode = errno,
                IsPermissionDenied = true,
            };
        }

        return new TunException($"Cannot {operation}: {Describe(errno)}.") { ErrorCode = errno };
    }
}
