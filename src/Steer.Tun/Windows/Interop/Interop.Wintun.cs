using System.Runtime.InteropServices;

namespace Steer.Tun.Windows;

internal static partial class Interop
{
    /// <summary>
    /// The Wintun API (<c>wintun.h</c>, version 0.14). Functions that fail return NULL and set the last error.
    /// Call <see cref="WintunLibrary.EnsureLoaded()"/> first: it turns a missing DLL into a <see cref="TunException"/>
    /// that says where to get it.
    /// </summary>
    internal static unsafe partial class Wintun
    {
        /// <summary>WINTUN_MIN_RING_CAPACITY (128 KiB).</summary>
        internal const uint MinRingCapacity = 0x20000;

        /// <summary>WINTUN_MAX_RING_CAPACITY (64 MiB).</summary>
        internal const uint MaxRingCapacity = 0x4000000;

        /// <summary>WINTUN_MAX_IP_PACKET_SIZE.</summary>
        internal const int MaxIpPacketSize = 0xFFFF;

        /// <summary><c>WINTUN_ADAPTER_HANDLE WintunCreateAdapter(LPCWSTR Name, LPCWSTR TunnelType, const GUID *RequestedGUID)</c>.</summary>
        [LibraryImport(Libraries.Wintun, SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial SafeWintunAdapterHandle WintunCreateAdapter(string name, string tunnelType, Guid* requestedGuid);

        /// <summary><c>VOID WintunCloseAdapter(WINTUN_ADAPTER_HANDLE Adapter)</c>: closes and, if this process created it, removes the adapter.</summary>
        [LibraryImport(Libraries.Wintun)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial void WintunCloseAdapter(nint adapter);

        /// <summary><c>VOID WintunGetAdapterLUID(WINTUN_ADAPTER_HANDLE Adapter, NET_LUID *Luid)</c>.</summary>
        [LibraryImport(Libraries.Wintun)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial void WintunGetAdapterLUID(SafeWintunAdapterHandle adapter, NET_LUID* luid);

        /// <summary><c>DWORD WintunGetRunningDriverVersion(VOID)</c>: 0 when the driver is not loaded.</summary>
        [LibraryImport(Libraries.Wintun, SetLastError = true)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial uint WintunGetRunningDriverVersion();

        /// <summary><c>WINTUN_SESSION_HANDLE WintunStartSession(WINTUN_ADAPTER_HANDLE Adapter, DWORD Capacity)</c>.</summary>
        [LibraryImport(Libraries.Wintun, SetLastError = true)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial SafeWintunSessionHandle WintunStartSession(SafeWintunAdapterHandle adapter, uint capacity);

        /// <summary><c>VOID WintunEndSession(WINTUN_SESSION_HANDLE Session)</c>.</summary>
        [LibraryImport(Libraries.Wintun)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial void WintunEndSession(nint session);

        /// <summary><c>HANDLE WintunGetReadWaitEvent(WINTUN_SESSION_HANDLE Session)</c>: owned by the session, never closed by us.</summary>
        [LibraryImport(Libraries.Wintun)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial nint WintunGetReadWaitEvent(SafeWintunSessionHandle session);

        /// <summary>
        /// <c>BYTE *WintunReceivePacket(WINTUN_SESSION_HANDLE Session, DWORD *PacketSize)</c>: NULL with ERROR_NO_MORE_ITEMS
        /// when the ring is empty, ERROR_HANDLE_EOF when the adapter is terminating.
        /// </summary>
        [LibraryImport(Libraries.Wintun, SetLastError = true)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial byte* WintunReceivePacket(nint session, uint* packetSize);

        /// <summary><c>VOID WintunReleaseReceivePacket(WINTUN_SESSION_HANDLE Session, const BYTE *Packet)</c>.</summary>
        [LibraryImport(Libraries.Wintun)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial void WintunReleaseReceivePacket(nint session, byte* packet);

        /// <summary>
        /// <c>BYTE *WintunAllocateSendPacket(WINTUN_SESSION_HANDLE Session, DWORD PacketSize)</c>: NULL with
        /// ERROR_BUFFER_OVERFLOW when the ring is full, ERROR_HANDLE_EOF when the adapter is terminating.
        /// </summary>
        [LibraryImport(Libraries.Wintun, SetLastError = true)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial byte* WintunAllocateSendPacket(nint session, uint packetSize);

        /// <summary><c>VOID WintunSendPacket(WINTUN_SESSION_HANDLE Session, const BYTE *Packet)</c>.</summary>
        [LibraryImport(Libraries.Wintun)]
        [DefaultDllImportSearchPaths(WintunLibrary.SearchPaths)]
        internal static partial void WintunSendPacket(nint session, byte* packet);
    }
}
