namespace Steer.Tun.Linux;

/// <summary>Native declarations that Tmds.LibC does not provide, one concern per file.</summary>
internal static partial class Interop
{
    /// <summary>Names of the native libraries Steer.Tun loads.</summary>
    internal static class Libraries
    {
        /// <summary>libnftables from the nftables package; loaded only when NAT is enabled.</summary>
        internal const string Nftables = "libnftables.so.1";
    }
}
