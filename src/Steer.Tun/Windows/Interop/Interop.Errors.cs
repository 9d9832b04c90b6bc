namespace Steer.Tun.Windows;

internal static partial class Interop
{
    /// <summary>Win32 error codes from <c>winerror.h</c> that the Windows code distinguishes.</summary>
    internal static class Errors
    {
        internal const int ERROR_SUCCESS = 0;
        internal const int ERROR_FILE_NOT_FOUND = 2;
        internal const int ERROR_ACCESS_DENIED = 5;
        internal const int ERROR_INVALID_DATA = 13;
        internal const int ERROR_HANDLE_EOF = 38;
        internal const int ERROR_NOT_SUPPORTED = 50;
        internal const int ERROR_INVALID_PARAMETER = 87;
        internal const int ERROR_BUFFER_OVERFLOW = 111;
        internal const int ERROR_MOD_NOT_FOUND = 126;
        internal const int ERROR_PROC_NOT_FOUND = 127;
        internal const int ERROR_ALREADY_EXISTS = 183;
        internal const int ERROR_NO_MORE_ITEMS = 259;
        internal const int ERROR_ELEVATION_REQUIRED = 740;
        internal const int ERROR_NOT_FOUND = 1168;
        internal const int ERROR_NETWORK_UNREACHABLE = 1231;
        internal const int ERROR_HOST_UNREACHABLE = 1232;
        internal const int ERROR_OBJECT_ALREADY_EXISTS = 5010;
    }
}
