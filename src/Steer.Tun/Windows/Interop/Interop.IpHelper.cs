using System.Runtime.InteropServices;

namespace Steer.Tun.Windows;

internal static partial class Interop
{
    /// <summary>
    /// The IP Helper functions (<c>netioapi.h</c>) used for addresses, routes, interface settings and DNS. They return
    /// a Win32 error code (NETIO_STATUS) instead of setting the last error.
    /// </summary>
    internal static unsafe partial class IpHelper
    {
        /// <summary><c>VOID InitializeIpForwardEntry(PMIB_IPFORWARD_ROW2 Row)</c>: defaults (infinite lifetimes, ...).</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial void InitializeIpForwardEntry(MIB_IPFORWARD_ROW2* row);

        /// <summary><c>NETIO_STATUS CreateIpForwardEntry2(const MIB_IPFORWARD_ROW2 *Row)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int CreateIpForwardEntry2(MIB_IPFORWARD_ROW2* row);

        /// <summary><c>NETIO_STATUS DeleteIpForwardEntry2(const MIB_IPFORWARD_ROW2 *Row)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int DeleteIpForwardEntry2(MIB_IPFORWARD_ROW2* row);

        /// <summary>
        /// <c>NETIO_STATUS GetBestRoute2(NET_LUID *InterfaceLuid, NET_IFINDEX InterfaceIndex, const SOCKADDR_INET
        /// *SourceAddress, const SOCKADDR_INET *DestinationAddress, ULONG AddressSortOptions, PMIB_IPFORWARD_ROW2 BestRoute,
        /// SOCKADDR_INET *BestSourceAddress)</c>.
        /// </summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int GetBestRoute2(
            NET_LUID* interfaceLuid,
            uint interfaceIndex,
            SOCKADDR_INET* sourceAddress,
            SOCKADDR_INET* destinationAddress,
            uint addressSortOptions,
            MIB_IPFORWARD_ROW2* bestRoute,
            SOCKADDR_INET* bestSourceAddress);

        /// <summary><c>VOID InitializeUnicastIpAddressEntry(PMIB_UNICASTIPADDRESS_ROW Row)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial void InitializeUnicastIpAddressEntry(MIB_UNICASTIPADDRESS_ROW* row);

        /// <summary><c>NETIO_STATUS CreateUnicastIpAddressEntry(const MIB_UNICASTIPADDRESS_ROW *Row)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int CreateUnicastIpAddressEntry(MIB_UNICASTIPADDRESS_ROW* row);

        /// <summary><c>NETIO_STATUS DeleteUnicastIpAddressEntry(const MIB_UNICASTIPADDRESS_ROW *Row)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int DeleteUnicastIpAddressEntry(MIB_UNICASTIPADDRESS_ROW* row);

        /// <summary><c>VOID InitializeIpInterfaceEntry(PMIB_IPINTERFACE_ROW Row)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial void InitializeIpInterfaceEntry(MIB_IPINTERFACE_ROW* row);

        /// <summary><c>NETIO_STATUS GetIpInterfaceEntry(PMIB_IPINTERFACE_ROW Row)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int GetIpInterfaceEntry(MIB_IPINTERFACE_ROW* row);

        /// <summary><c>NETIO_STATUS SetIpInterfaceEntry(PMIB_IPINTERFACE_ROW Row)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int SetIpInterfaceEntry(MIB_IPINTERFACE_ROW* row);

        /// <summary><c>NETIO_STATUS ConvertInterfaceLuidToIndex(const NET_LUID *InterfaceLuid, PNET_IFINDEX InterfaceIndex)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int ConvertInterfaceLuidToIndex(NET_LUID* interfaceLuid, uint* interfaceIndex);

        /// <summary><c>NETIO_STATUS ConvertInterfaceIndexToLuid(NET_IFINDEX InterfaceIndex, PNET_LUID InterfaceLuid)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int ConvertInterfaceIndexToLuid(uint interfaceIndex, NET_LUID* interfaceLuid);

        /// <summary><c>NETIO_STATUS ConvertInterfaceLuidToGuid(const NET_LUID *InterfaceLuid, GUID *InterfaceGuid)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int ConvertInterfaceLuidToGuid(NET_LUID* interfaceLuid, Guid* interfaceGuid);

        /// <summary><c>NETIO_STATUS SetInterfaceDnsSettings(GUID Interface, const DNS_INTERFACE_SETTINGS *Settings)</c> (Windows 10 2004+).</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int SetInterfaceDnsSettings(Guid interfaceGuid, DNS_INTERFACE_SETTINGS* settings);

        /// <summary><c>NETIO_STATUS GetInterfaceDnsSettings(GUID Interface, DNS_INTERFACE_SETTINGS *Settings)</c> (Windows 10 2004+).</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial int GetInterfaceDnsSettings(Guid interfaceGuid, DNS_INTERFACE_SETTINGS* settings);

        /// <summary><c>VOID FreeInterfaceDnsSettings(DNS_INTERFACE_SETTINGS *Settings)</c>.</summary>
        [LibraryImport(Libraries.IpHlpApi)]
        internal static partial void FreeInterfaceDnsSettings(DNS_INTERFACE_SETTINGS* settings);
    }

    /// <summary>The DNS client API.</summary>
    internal static partial class DnsApi
    {
        /// <summary><c>BOOL DnsFlushResolverCache(VOID)</c>: empties the DNS client's cache (what <c>ipconfig /flushdns</c> calls).</summary>
        [LibraryImport(Libraries.DnsApi)]
        [return: MarshalAs(UnmanagedType.Bool)]
        internal static partial bool DnsFlushResolverCache();
    }
}
