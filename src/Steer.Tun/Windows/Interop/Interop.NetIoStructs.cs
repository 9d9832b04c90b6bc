using System.Runtime.InteropServices;

namespace Steer.Tun.Windows;

internal static partial class Interop
{
    /// <summary><c>NET_LUID</c> (<c>ifdef.h</c>): a 64-bit locally unique interface id.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NET_LUID
    {
        /// <summary>The packed value.</summary>
        public ulong Value;
    }

    /// <summary><c>SOCKADDR_IN</c> (<c>ws2def.h</c>, 16 bytes): family, port, address, 8 bytes of zero.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct SOCKADDR_IN
    {
        /// <summary>AF_INET (2).</summary>
        public ushort sin_family;

        /// <summary>Port, network byte order.</summary>
        public ushort sin_port;

        /// <summary>Address, network byte order.</summary>
        public fixed byte sin_addr[4];

        /// <summary>Zero.</summary>
        public fixed byte sin_zero[8];
    }

    /// <summary><c>SOCKADDR_IN6</c> (<c>ws2ipdef.h</c>, 28 bytes): family, port, flow info, address, scope id.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct SOCKADDR_IN6
    {
        /// <summary>AF_INET6 (23 on Windows).</summary>
        public ushort sin6_family;

        /// <summary>Port, network byte order.</summary>
        public ushort sin6_port;

        /// <summary>Flow information.</summary>
        public uint sin6_flowinfo;

        /// <summary>Address, network byte order.</summary>
        public fixed byte sin6_addr[16];

        /// <summary>Scope id.</summary>
        public uint sin6_scope_id;
    }

    /// <summary><c>SOCKADDR_INET</c> (<c>ws2ipdef.h</c>): a union of SOCKADDR_IN, SOCKADDR_IN6 and the family (28 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 28)]
    internal struct SOCKADDR_INET
    {
        /// <summary>The IPv4 view.</summary>
        [FieldOffset(0)]
        public SOCKADDR_IN Ipv4;

        /// <summary>The IPv6 view.</summary>
        [FieldOffset(0)]
        public SOCKADDR_IN6 Ipv6;

        /// <summary>The address family (AF_UNSPEC, AF_INET or AF_INET6).</summary>
        [FieldOffset(0)]
        public ushort si_family;
    }

    /// <summary><c>IP_ADDRESS_PREFIX</c> (<c>netioapi.h</c>): a SOCKADDR_INET and a prefix length (32 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IP_ADDRESS_PREFIX
    {
        /// <summary>The prefix.</summary>
        public SOCKADDR_INET Prefix;

        /// <summary>The prefix length.</summary>
        public byte PrefixLength;
    }

    /// <summary><c>MIB_IPFORWARD_ROW2</c> (<c>netioapi.h</c>): one route (104 bytes on 64-bit Windows).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MIB_IPFORWARD_ROW2
    {
        /// <summary>Interface LUID (either this or the index identifies the interface).</summary>
        public NET_LUID InterfaceLuid;

        /// <summary>Interface index.</summary>
        public uint InterfaceIndex;

        /// <summary>Destination prefix.</summary>
        public IP_ADDRESS_PREFIX DestinationPrefix;

        /// <summary>Next hop; the unspecified address of the family for an on-link route.</summary>
        public SOCKADDR_INET NextHop;

        /// <summary>Site prefix length (IPv6).</summary>
        public byte SitePrefixLength;

        /// <summary>Valid lifetime in seconds.</summary>
        public uint ValidLifetime;

        /// <summary>Preferred lifetime in seconds.</summary>
        public uint PreferredLifetime;

        /// <summary>Route metric, added to the interface metric.</summary>
        public uint Metric;

        /// <summary>NL_ROUTE_PROTOCOL.</summary>
        public int Protocol;

        /// <summary>BOOLEAN Loopback.</summary>
        public byte Loopback;

        /// <summary>BOOLEAN AutoconfigureAddress.</summary>
        public byte AutoconfigureAddress;

        /// <summary>BOOLEAN Publish.</summary>
        public byte Publish;

        /// <summary>BOOLEAN Immortal.</summary>
        public byte Immortal;

        /// <summary>Age in seconds.</summary>
        public uint Age;

        /// <summary>NL_ROUTE_ORIGIN.</summary>
        public int Origin;
    }

    /// <summary><c>MIB_UNICASTIPADDRESS_ROW</c> (<c>netioapi.h</c>): one unicast address (80 bytes on 64-bit Windows).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MIB_UNICASTIPADDRESS_ROW
    {
        /// <summary>The address.</summary>
        public SOCKADDR_INET Address;

        /// <summary>Interface LUID.</summary>
        public NET_LUID InterfaceLuid;

        /// <summary>Interface index.</summary>
        public uint InterfaceIndex;

        /// <summary>NL_PREFIX_ORIGIN.</summary>
        public int PrefixOrigin;

        /// <summary>NL_SUFFIX_ORIGIN.</summary>
        public int SuffixOrigin;

        /// <summary>Valid lifetime in seconds (0xffffffff: infinite).</summary>
        public uint ValidLifetime;

        /// <summary>Preferred lifetime in seconds (0xffffffff: infinite).</summary>
        public uint PreferredLifetime;

        /// <summary>On-link prefix length.</summary>
        public byte OnLinkPrefixLength;

        /// <summary>BOOLEAN SkipAsSource.</summary>
        public byte SkipAsSource;

        /// <summary>NL_DAD_STATE.</summary>
        public int DadState;

        /// <summary>SCOPE_ID.</summary>
        public uint ScopeId;

        /// <summary>LARGE_INTEGER CreationTimeStamp.</summary>
        public long CreationTimeStamp;
    }

    /// <summary><c>MIB_IPINTERFACE_ROW</c> (<c>netioapi.h</c>): per-family interface settings (168 bytes on 64-bit Windows).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct MIB_IPINTERFACE_ROW
    {
        /// <summary>AF_INET or AF_INET6.</summary>
        public ushort Family;

        /// <summary>Interface LUID.</summary>
        public NET_LUID InterfaceLuid;

        /// <summary>Interface index.</summary>
        public uint InterfaceIndex;

        /// <summary>MaxReassemblySize.</summary>
        public uint MaxReassemblySize;

        /// <summary>InterfaceIdentifier.</summary>
        public ulong InterfaceIdentifier;

        /// <summary>MinRouterAdvertisementInterval.</summary>
        public uint MinRouterAdvertisementInterval;

        /// <summary>MaxRouterAdvertisementInterval.</summary>
        public uint MaxRouterAdvertisementInterval;

        /// <summary>BOOLEAN AdvertisingEnabled.</summary>
        public byte AdvertisingEnabled;

        /// <summary>BOOLEAN ForwardingEnabled.</summary>
        public byte ForwardingEnabled;

        /// <summary>BOOLEAN WeakHostSend.</summary>
        public byte WeakHostSend;

        /// <summary>BOOLEAN WeakHostReceive.</summary>
        public byte WeakHostReceive;

        /// <summary>BOOLEAN UseAutomaticMetric.</summary>
        public byte UseAutomaticMetric;

        /// <summary>BOOLEAN UseNeighborUnreachabilityDetection.</summary>
        public byte UseNeighborUnreachabilityDetection;

        /// <summary>BOOLEAN ManagedAddressConfigurationSupported.</summary>
        public byte ManagedAddressConfigurationSupported;

        /// <summary>BOOLEAN OtherStatefulConfigurationSupported.</summary>
        public byte OtherStatefulConfigurationSupported;

        /// <summary>BOOLEAN AdvertiseDefaultRoute.</summary>
        public byte AdvertiseDefaultRoute;

        /// <summary>NL_ROUTER_DISCOVERY_BEHAVIOR.</summary>
        public int RouterDiscoveryBehavior;

        /// <summary>DadTransmits.</summary>
        public uint DadTransmits;

        /// <summary>BaseReachableTime.</summary>
        public uint BaseReachableTime;

        /// <summary>RetransmitTime.</summary>
        public uint RetransmitTime;

        /// <summary>PathMtuDiscoveryTimeout.</summary>
        public uint PathMtuDiscoveryTimeout;

        /// <summary>NL_LINK_LOCAL_ADDRESS_BEHAVIOR.</summary>
        public int LinkLocalAddressBehavior;

        /// <summary>LinkLocalAddressTimeout.</summary>
        public uint LinkLocalAddressTimeout;

        /// <summary>ZoneIndices[ScopeLevelCount = 16].</summary>
        public fixed uint ZoneIndices[16];

        /// <summary>SitePrefixLength; must be 0 when setting an IPv4 row.</summary>
        public uint SitePrefixLength;

        /// <summary>Interface metric.</summary>
        public uint Metric;

        /// <summary>Network-layer MTU.</summary>
        public uint NlMtu;

        /// <summary>BOOLEAN Connected.</summary>
        public byte Connected;

        /// <summary>BOOLEAN SupportsWakeUpPatterns.</summary>
        public byte SupportsWakeUpPatterns;

        /// <summary>BOOLEAN SupportsNeighborDiscovery.</summary>
        public byte SupportsNeighborDiscovery;

        /// <summary>BOOLEAN SupportsRouterDiscovery.</summary>
        public byte SupportsRouterDiscovery;

        /// <summary>ReachableTime.</summary>
        public uint ReachableTime;

        /// <summary>NL_INTERFACE_OFFLOAD_ROD TransmitOffload (eight 1-bit BOOLEANs: one byte).</summary>
        public byte TransmitOffload;

        /// <summary>NL_INTERFACE_OFFLOAD_ROD ReceiveOffload.</summary>
        public byte ReceiveOffload;

        /// <summary>BOOLEAN DisableDefaultRoutes.</summary>
        public byte DisableDefaultRoutes;
    }

    /// <summary>
    /// <c>DNS_INTERFACE_SETTINGS</c> (<c>netioapi.h</c>, Windows 10 2004+): version 1 of the per-interface DNS
    /// settings (64 bytes on 64-bit Windows). Strings are UTF-16, NUL-terminated; lists are comma-separated.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct DNS_INTERFACE_SETTINGS
    {
        /// <summary>DNS_INTERFACE_SETTINGS_VERSION1.</summary>
        public uint Version;

        /// <summary>DNS_SETTING_* flags naming the members that are set.</summary>
        public ulong Flags;

        /// <summary>Connection-specific DNS suffix (PWSTR).</summary>
        public nint Domain;

        /// <summary>Name servers (PWSTR).</summary>
        public nint NameServer;

        /// <summary>Search list (PWSTR).</summary>
        public nint SearchList;

        /// <summary>RegistrationEnabled.</summary>
        public uint RegistrationEnabled;

        /// <summary>RegisterAdapterName.</summary>
        public uint RegisterAdapterName;

        /// <summary>EnableLLMNR.</summary>
        public uint EnableLLMNR;

        /// <summary>QueryAdapterName.</summary>
        public uint QueryAdapterName;

        /// <summary>Profile name servers (PWSTR).</summary>
        public nint ProfileNameServer;
    }

    /// <summary>Constants of the IP Helper structs above.</summary>
    internal static class NetIoConstants
    {
        /// <summary>AF_UNSPEC.</summary>
        internal const ushort AF_UNSPEC = 0;

        /// <summary>AF_INET.</summary>
        internal const ushort AF_INET = 2;

        /// <summary>AF_INET6 (23 on Windows).</summary>
        internal const ushort AF_INET6 = 23;

        /// <summary>MIB_IPPROTO_NETMGMT: a static route added by management.</summary>
        internal const int MIB_IPPROTO_NETMGMT = 3;

        /// <summary>IpDadStatePreferred: the address is usable at once (no duplicate address detection wait).</summary>
        internal const int IpDadStatePreferred = 4;

        /// <summary>Infinite lifetime.</summary>
        internal const uint InfiniteLifetime = 0xFFFFFFFF;

        /// <summary>DNS_INTERFACE_SETTINGS_VERSION1.</summary>
        internal const uint DNS_INTERFACE_SETTINGS_VERSION1 = 1;

        /// <summary>DNS_SETTING_IPV6: the call is about the IPv6 settings.</summary>
        internal const ulong DNS_SETTING_IPV6 = 0x0001;

        /// <summary>DNS_SETTING_NAMESERVER.</summary>
        internal const ulong DNS_SETTING_NAMESERVER = 0x0002;

        /// <summary>DNS_SETTING_SEARCHLIST.</summary>
        internal const ulong DNS_SETTING_SEARCHLIST = 0x0004;

        /// <summary>DNS_SETTING_DOMAIN.</summary>
        internal const ulong DNS_SETTING_DOMAIN = 0x0020;
    }
}
