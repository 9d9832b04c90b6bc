namespace Steer.Tun.Windows;

/// <summary>Windows native declarations, one concern per file.</summary>
internal static partial class Interop
{
    /// <summary>Names of the native libraries the Windows code loads.</summary>
    internal static class Libraries
    {
        /// <summary>
        /// Wintun, supplied by the user next to steer.exe (see <see cref="WintunLibrary"/>); never loaded from the
        /// current directory or PATH.
        /// </summary>
        internal const string Wintun = "wintun.dll";

        /// <summary>The IP Helper API.</summary>
        internal const string IpHlpApi = "iphlpapi.dll";

        /// <summary>The DNS client API.</summary>
        internal const string DnsApi = "dnsapi.dll";
    }
}
