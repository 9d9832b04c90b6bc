using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Steer.Tun.Windows;

namespace Steer.Tun.Tests.Windows;

/// <summary>
/// Sizes and offsets of the IP Helper structs against the 64-bit Windows SDK layouts (ws2def.h, ws2ipdef.h, ifdef.h,
/// nldef.h, netioapi.h), worked out from the field lists: USHORT/ULONG/ULONG64 = 2/4/8, BOOLEAN/UCHAR = 1, enums = 4,
/// pointers = 8, natural alignment; NL_INTERFACE_OFFLOAD_ROD is eight 1-bit BOOLEAN fields, one byte.
/// </summary>
public sealed class WindowsInteropLayoutUnitTests
{
    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Fact]
    public void SocketAddresses_HaveWinsockLayouts()
    {
        Assert.Equal(8, Unsafe.SizeOf<Interop.NET_LUID>());

        // SOCKADDR_IN: ADDRESS_FAMILY; USHORT port; IN_ADDR; CHAR zero[8]
        Assert.Equal(16, Unsafe.SizeOf<Interop.SOCKADDR_IN>());
        Assert.Equal(4, Offset<Interop.SOCKADDR_IN>(nameof(Interop.SOCKADDR_IN.sin_addr)));

        // SOCKADDR_IN6: ADDRESS_FAMILY; USHORT port; ULONG flowinfo; IN6_ADDR; ULONG scope_id
        Assert.Equal(28, Unsafe.SizeOf<Interop.SOCKADDR_IN6>());
        Assert.Equal(4, Offset<Interop.SOCKADDR_IN6>(nameof(Interop.SOCKADDR_IN6.sin6_flowinfo)));
        Assert.Equal(8, Offset<Interop.SOCKADDR_IN6>(nameof(Interop.SOCKADDR_IN6.sin6_addr)));
        Assert.Equal(24, Offset<Interop.SOCKADDR_IN6>(nameof(Interop.SOCKADDR_IN6.sin6_scope_id)));

        // SOCKADDR_INET: union of the two and the family
        Assert.Equal(28, Unsafe.SizeOf<Interop.SOCKADDR_INET>());

        // IP_ADDRESS_PREFIX: SOCKADDR_INET (28, 4-aligned) + UINT8, padded to 32
        Assert.Equal(32, Unsafe.SizeOf<Interop.IP_ADDRESS_PREFIX>());
        Assert.Equal(28, Offset<Interop.IP_ADDRESS_PREFIX>(nameof(Interop.IP_ADDRESS_PREFIX.PrefixLength)));
    }

    [Fact]
    public void MibIpforwardRow2_Is104Bytes()
    {
        Assert.Equal(104, Unsafe.SizeOf<Interop.MIB_IPFORWARD_ROW2>());
        Assert.Equal(0, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.InterfaceLuid)));
        Assert.Equal(8, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.InterfaceIndex)));
        Assert.Equal(12, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.DestinationPrefix)));
        Assert.Equal(44, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.NextHop)));
        Assert.Equal(72, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.SitePrefixLength)));
        Assert.Equal(76, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.ValidLifetime)));
        Assert.Equal(80, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.PreferredLifetime)));
        Assert.Equal(84, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.Metric)));
        Assert.Equal(88, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.Protocol)));
        Assert.Equal(92, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.Loopback)));
        Assert.Equal(95, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.Immortal)));
        Assert.Equal(96, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.Age)));
        Assert.Equal(100, Offset<Interop.MIB_IPFORWARD_ROW2>(nameof(Interop.MIB_IPFORWARD_ROW2.Origin)));
    }

    [Fact]
    public void MibUnicastipaddressRow_Is80Bytes()
    {
        Assert.Equal(80, Unsafe.SizeOf<Interop.MIB_UNICASTIPADDRESS_ROW>());
        Assert.Equal(0, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.Address)));
        Assert.Equal(32, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.InterfaceLuid)));
        Assert.Equal(40, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.InterfaceIndex)));
        Assert.Equal(44, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.PrefixOrigin)));
        Assert.Equal(48, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.SuffixOrigin)));
        Assert.Equal(52, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.ValidLifetime)));
        Assert.Equal(56, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.PreferredLifetime)));
        Assert.Equal(60, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.OnLinkPrefixLength)));
        Assert.Equal(61, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.SkipAsSource)));
        Assert.Equal(64, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.DadState)));
        Assert.Equal(68, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.ScopeId)));
        Assert.Equal(72, Offset<Interop.MIB_UNICASTIPADDRESS_ROW>(nameof(Interop.MIB_UNICASTIPADDRESS_ROW.CreationTimeStamp)));
    }

    [Fact]
    public void MibIpinterfaceRow_Is168Bytes()
    {
        Assert.Equal(168, Unsafe.SizeOf<Interop.MIB_IPINTERFACE_ROW>());
        Assert.Equal(0, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.Family)));
        Assert.Equal(8, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.InterfaceLuid)));
        Assert.Equal(16, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.InterfaceIndex)));
        Assert.Equal(24, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.InterfaceIdentifier)));
        Assert.Equal(44, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.UseAutomaticMetric)));
        Assert.Equal(52, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.RouterDiscoveryBehavior)));
        Assert.Equal(72, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.LinkLocalAddressBehavior)));
        Assert.Equal(80, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.ZoneIndices)));
        Assert.Equal(144, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.SitePrefixLength)));
        Assert.Equal(148, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.Metric)));
        Assert.Equal(152, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.NlMtu)));
        Assert.Equal(156, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.Connected)));
        Assert.Equal(160, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.ReachableTime)));
        Assert.Equal(164, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.TransmitOffload)));
        Assert.Equal(165, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.ReceiveOffload)));
        Assert.Equal(166, Offset<Interop.MIB_IPINTERFACE_ROW>(nameof(Interop.MIB_IPINTERFACE_ROW.DisableDefaultRoutes)));
    }

    [Fact]
    public void DnsInterfaceSettings_Is64Bytes()
    {
        // ULONG Version; ULONG64 Flags; PWSTR Domain, NameServer, SearchList; ULONG x4; PWSTR ProfileNameServer
        Assert.Equal(64, Unsafe.SizeOf<Interop.DNS_INTERFACE_SETTINGS>());
        Assert.Equal(8, Offset<Interop.DNS_INTERFACE_SETTINGS>(nameof(Interop.DNS_INTERFACE_SETTINGS.Flags)));
        Assert.Equal(16, Offset<Interop.DNS_INTERFACE_SETTINGS>(nameof(Interop.DNS_INTERFACE_SETTINGS.Domain)));
        Assert.Equal(24, Offset<Interop.DNS_INTERFACE_SETTINGS>(nameof(Interop.DNS_INTERFACE_SETTINGS.NameServer)));
        Assert.Equal(32, Offset<Interop.DNS_INTERFACE_SETTINGS>(nameof(Interop.DNS_INTERFACE_SETTINGS.SearchList)));
        Assert.Equal(40, Offset<Interop.DNS_INTERFACE_SETTINGS>(nameof(Interop.DNS_INTERFACE_SETTINGS.RegistrationEnabled)));
        Assert.Equal(52, Offset<Interop.DNS_INTERFACE_SETTINGS>(nameof(Interop.DNS_INTERFACE_SETTINGS.QueryAdapterName)));
        Assert.Equal(56, Offset<Interop.DNS_INTERFACE_SETTINGS>(nameof(Interop.DNS_INTERFACE_SETTINGS.ProfileNameServer)));
    }

    [Fact]
    public void Constants_MatchTheSdk()
    {
        Assert.Equal(23, Interop.NetIoConstants.AF_INET6);
        Assert.Equal(0x1ul, Interop.NetIoConstants.DNS_SETTING_IPV6);
        Assert.Equal(0x2ul, Interop.NetIoConstants.DNS_SETTING_NAMESERVER);
        Assert.Equal(0x4ul, Interop.NetIoConstants.DNS_SETTING_SEARCHLIST);
        Assert.Equal(4, Interop.NetIoConstants.IpDadStatePreferred);
        Assert.Equal(3, Interop.NetIoConstants.MIB_IPPROTO_NETMGMT);
        uint ring = WintunAdapterSettings.RingCapacity;
        Assert.Equal(0x400000u, ring);
        Assert.InRange(ring, Interop.Wintun.MinRingCapacity, Interop.Wintun.MaxRingCapacity);
        Assert.Equal(0u, ring & (ring - 1));
    }
}
