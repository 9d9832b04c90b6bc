namespace Steer.Tun.MacOS;

/// <summary>
/// macOS native declarations, one concern per file. Tmds.LibC ships no macOS implementation, so every call is declared
/// here with <c>LibraryImport</c> against the system C library and the system frameworks.
/// </summary>
internal static partial class Interop
{
    /// <summary>Names of the native libraries the macOS code loads.</summary>
    internal static class Libraries
    {
        /// <summary>The C library (<c>/usr/lib/libc.dylib</c>, part of libSystem).</summary>
        internal const string Libc = "libc";

        /// <summary>
        /// CoreFoundation (CFString, CFArray, CFDictionary, CFNumber, CFRelease). A full framework path: dyld finds it
        /// in the shared cache even though the file is not on disk since macOS 11.
        /// </summary>
        internal const string CoreFoundation = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation";

        /// <summary>SystemConfiguration (the SCDynamicStore calls of the DNS configurator).</summary>
        internal const string SystemConfiguration = "/System/Library/Frameworks/SystemConfiguration.framework/SystemConfiguration";
    }
}
