namespace Steer.Tun.MacOS;

/// <summary>
/// macOS native declarations, one concern per file. Tmds.LibC ships no macOS implementation, so every call is declared
/// here with <c>LibraryImport</c> against the system C library.
/// </summary>
internal static partial class Interop
{
    /// <summary>Names of the native libraries the macOS code loads.</summary>
    internal static class Libraries
    {
        /// <summary>The C library (<c>/usr/lib/libc.dylib</c>, part of libSystem).</summary>
        internal const string Libc = "libc";
    }
}
