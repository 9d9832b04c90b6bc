using System.Globalization;
using System.Runtime.InteropServices;
using static Steer.Tun.Windows.Interop.Errors;

namespace Steer.Tun.Windows;

/// <summary>
/// Turns Win32 error codes into <see cref="TunException"/>s that name the operation, with an explicit hint for
/// missing Administrator rights. Pure functions, unit-tested on any OS.
/// </summary>
internal static class WindowsErrors
{
    /// <summary>The hint added to every permission error.</summary>
    internal const string PrivilegeHint =
        "Creating the Wintun adapter and changing addresses, routes and DNS needs Administrator rights: run steer from an elevated prompt.";

    /// <summary>True for ERROR_ACCESS_DENIED and ERROR_ELEVATION_REQUIRED.</summary>
    internal static bool IsPermissionDenied(int error) => error is ERROR_ACCESS_DENIED or ERROR_ELEVATION_REQUIRED;

    /// <summary>
    /// The system's text and the code (<c>Access is denied. (5)</c>) on Windows; elsewhere (unit tests) the code only,
    /// since the local C library would describe another error under the same number.
    /// </summary>
    internal static string Describe(int error)
    {
        string code = error.ToString(CultureInfo.InvariantCulture);
        return OperatingSystem.IsWindows() ? $"{Marshal.GetPInvokeErrorMessage(error).TrimEnd()} ({code})" : $"Win32 error {code}";
    }

    /// <summary>The error for a failed step of creating the Wintun adapter or session.</summary>
    internal static TunException TunCreateFailed(string adapterName, string call, int error)
    {
        string what = $"Creating Wintun adapter '{adapterName}'";
        if (IsPermissionDenied(error))
        {
            return new TunException($"{what} needs Administrator rights ({call}: {Describe(error)}). {PrivilegeHint}")
            {
                ErrorCode = error,
                IsPermissionDenied = true,
            };
        }

        return new TunException($"{what} failed ({call}: {Describe(error)}).") { ErrorCode = error };
    }

    /// <summary>The error for a failed configuration change, e.g. <c>Cannot add route 10.0.0.0/8 dev #12: ...</c>.</summary>
    internal static TunException OperationFailed(string operation, int error)
    {
        if (IsPermissionDenied(error))
        {
            return new TunException($"Cannot {operation}: this needs Administrator rights ({Describe(error)}). {PrivilegeHint}")
            {
                ErrorCode = error,
                IsPermissionDenied = true,
            };
        }

        return new TunException($"Cannot {operation}: {Describe(error)}.") { ErrorCode = error };
    }
}
