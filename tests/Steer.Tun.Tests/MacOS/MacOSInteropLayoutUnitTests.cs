using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Steer.Tun.MacOS;
using static Steer.Tun.MacOS.Interop.IoctlRequests;

namespace Steer.Tun.Tests.MacOS;

/// <summary>
/// Sizes and offsets of the macOS structs against the 64-bit layouts of the XNU headers (sys/kern_control.h,
/// net/if.h, net/if_dl.h, netinet/in.h, netinet6/in6.h, netinet6/in6_var.h, net/route.h), worked out by hand from the
/// field lists: natural alignment, u_char/u_short/int/u_int32_t = 1/2/4/4 bytes, time_t/caddr_t = 8.
/// </summary>
public sealed class MacOSInteropLayoutUnitTests
{
    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Fact]
    public void CtlInfo_Is4BytesIdAnd96BytesName()
    {
        // struct ctl_info { u_int32_t ctl_id; char ctl_name[MAX_KCTL_NAME = 96]; }
        Assert.Equal(100, Unsafe.SizeOf<Interop.ctl_info>());
        Assert.Equal(4, Offset<Interop.ctl_info>(nameof(Interop.ctl_info.ctl_name)));
    }

    [Fact]
    public void SockaddrCtl_Is32Bytes()
    {
        // u_char sc_len, sc_family; u_int16_t ss_sysaddr; u_int32_t sc_id, sc_unit, sc_reserved[5]
        Assert.Equal(32, Unsafe.SizeOf<Interop.sockaddr_ctl>());
        Assert.Equal(1, Offset<Interop.sockaddr_ctl>(nameof(Interop.sockaddr_ctl.sc_family)));
        Assert.Equal(2, Offset<Interop.sockaddr_ctl>(nameof(Interop.sockaddr_ctl.ss_sysaddr)));
        Assert.Equal(4, Offset<Interop.sockaddr_ctl>(nameof(Interop.sockaddr_ctl.sc_id)));
        Assert.Equal(8, Offset<Interop.sockaddr_ctl>(nameof(Interop.sockaddr_ctl.sc_unit)));
        Assert.Equal(12, Offset<Interop.sockaddr_ctl>(nameof(Interop.sockaddr_ctl.sc_reserved)));
    }

    [Fact]
    public void SocketAddresses_HaveBsdLayouts()
    {
        // sockaddr_in: u_char len, family; u_short port; in_addr (4); char zero[8]
        Assert.Equal(16, Unsafe.SizeOf<Interop.sockaddr_in>());
        Assert.Equal(2, Offset<Interop.sockaddr_in>(nameof(Interop.sockaddr_in.sin_port)));
        Assert.Equal(4, Offset<Interop.sockaddr_in>(nameof(Interop.sockaddr_in.sin_addr)));
        Assert.Equal(8, Offset<Interop.sockaddr_in>(nameof(Interop.sockaddr_in.sin_zero)));

        // sockaddr_in6: u_char len, family; u_short port; u_int32_t flowinfo; in6_addr (16); u_int32_t scope_id
        Assert.Equal(28, Unsafe.SizeOf<Interop.sockaddr_in6>());
        Assert.Equal(4, Offset<Interop.sockaddr_in6>(nameof(Interop.sockaddr_in6.sin6_flowinfo)));
        Assert.Equal(8, Offset<Interop.sockaddr_in6>(nameof(Interop.sockaddr_in6.sin6_addr)));
        Assert.Equal(24, Offset<Interop.sockaddr_in6>(nameof(Interop.sockaddr_in6.sin6_scope_id)));

        // sockaddr_dl: u_char len, family; u_short index; u_char type, nlen, alen, slen; char data[12]
        Assert.Equal(20, Unsafe.SizeOf<Interop.sockaddr_dl>());
        Assert.Equal(2, Offset<Interop.sockaddr_dl>(nameof(Interop.sockaddr_dl.sdl_index)));
        Assert.Equal(4, Offset<Interop.sockaddr_dl>(nameof(Interop.sockaddr_dl.sdl_type)));
        Assert.Equal(8, Offset<Interop.sockaddr_dl>(nameof(Interop.sockaddr_dl.sdl_data)));

        // timeval: long tv_sec; int tv_usec (+4 padding)
        Assert.Equal(16, Unsafe.SizeOf<Interop.timeval>());
    }

    [Fact]
    public void InterfaceRequests_HaveXnuLayouts()
    {
        // ifreq: char name[16]; union { struct sockaddr (16); struct ifkpi (16, pack 4); caddr_t (8); ... }
        Assert.Equal(32, Unsafe.SizeOf<Interop.ifreq>());
        Assert.Equal(16, Offset<Interop.ifreq>(nameof(Interop.ifreq.ifr_flags)));
        Assert.Equal(16, Offset<Interop.ifreq>(nameof(Interop.ifreq.ifr_mtu)));
        Assert.Equal(16, Offset<Interop.ifreq>(nameof(Interop.ifreq.ifr_addr)));

        // ifaliasreq: char name[16]; struct sockaddr addr, broadaddr, mask
        Assert.Equal(64, Unsafe.SizeOf<Interop.ifaliasreq>());
        Assert.Equal(16, Offset<Interop.ifaliasreq>(nameof(Interop.ifaliasreq.ifra_addr)));
        Assert.Equal(32, Offset<Interop.ifaliasreq>(nameof(Interop.ifaliasreq.ifra_broadaddr)));
        Assert.Equal(48, Offset<Interop.ifaliasreq>(nameof(Interop.ifaliasreq.ifra_mask)));

        // in6_addrlifetime: time_t expire, preferred; u_int32_t vltime, pltime
        Assert.Equal(24, Unsafe.SizeOf<Interop.in6_addrlifetime>());
        Assert.Equal(16, Offset<Interop.in6_addrlifetime>(nameof(Interop.in6_addrlifetime.ia6t_vltime)));
        Assert.Equal(20, Offset<Interop.in6_addrlifetime>(nameof(Interop.in6_addrlifetime.ia6t_pltime)));

        // in6_aliasreq: name[16]; sockaddr_in6 addr (16), dstaddr (44), prefixmask (72); int flags (100);
        // in6_addrlifetime at 104 (8-aligned); 104 + 24 = 128
        Assert.Equal(128, Unsafe.SizeOf<Interop.in6_aliasreq>());
        Assert.Equal(16, Offset<Interop.in6_aliasreq>(nameof(Interop.in6_aliasreq.ifra_addr)));
        Assert.Equal(44, Offset<Interop.in6_aliasreq>(nameof(Interop.in6_aliasreq.ifra_dstaddr)));
        Assert.Equal(72, Offset<Interop.in6_aliasreq>(nameof(Interop.in6_aliasreq.ifra_prefixmask)));
        Assert.Equal(100, Offset<Interop.in6_aliasreq>(nameof(Interop.in6_aliasreq.ifra_flags)));
        Assert.Equal(104, Offset<Interop.in6_aliasreq>(nameof(Interop.in6_aliasreq.ifra_lifetime)));

        // in6_ifreq: name[16]; union whose largest member is struct icmp6_ifstat, 34 u_quad_t = 272 bytes
        Assert.Equal(16 + (34 * 8), Unsafe.SizeOf<Interop.in6_ifreq>());
        Assert.Equal(16, Offset<Interop.in6_ifreq>(nameof(Interop.in6_ifreq.ifr_addr)));
    }

    [Fact]
    public void RtMsghdr_Is92BytesOn64BitMacOS()
    {
        // rt_metrics: 10 x u_int32_t + rmx_filler[4] = 56
        Assert.Equal(56, Unsafe.SizeOf<Interop.rt_metrics>());

        // u_short msglen; u_char version, type; u_short index; (2 padding) int flags, addrs; pid_t pid; int seq, errno,
        // use; u_int32_t inits; rt_metrics rmx
        Assert.Equal(92, Unsafe.SizeOf<Interop.rt_msghdr>());
        Assert.Equal(RouteSocketMessages.HeaderLength, Unsafe.SizeOf<Interop.rt_msghdr>());
        Assert.Equal(2, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_version)));
        Assert.Equal(3, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_type)));
        Assert.Equal(4, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_index)));
        Assert.Equal(8, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_flags)));
        Assert.Equal(12, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_addrs)));
        Assert.Equal(16, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_pid)));
        Assert.Equal(20, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_seq)));
        Assert.Equal(24, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_errno)));
        Assert.Equal(28, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_use)));
        Assert.Equal(32, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_inits)));
        Assert.Equal(36, Offset<Interop.rt_msghdr>(nameof(Interop.rt_msghdr.rtm_rmx)));
    }

    [Fact]
    public void IoctlNumbers_MatchTheIoccomMacrosOverTheStructSizes()
    {
        Assert.Equal(FIOCLEX, Encode(IOC_VOID, 'f', 1, 0));
        Assert.Equal(CTLIOCGINFO, Encode(IOC_INOUT, 'N', 3, Unsafe.SizeOf<Interop.ctl_info>()));
        Assert.Equal(SIOCSIFFLAGS, Encode(IOC_IN, 'i', 16, Unsafe.SizeOf<Interop.ifreq>()));
        Assert.Equal(SIOCGIFFLAGS, Encode(IOC_INOUT, 'i', 17, Unsafe.SizeOf<Interop.ifreq>()));
        Assert.Equal(SIOCDIFADDR, Encode(IOC_IN, 'i', 25, Unsafe.SizeOf<Interop.ifreq>()));
        Assert.Equal(SIOCAIFADDR, Encode(IOC_IN, 'i', 26, Unsafe.SizeOf<Interop.ifaliasreq>()));
        Assert.Equal(SIOCGIFMTU, Encode(IOC_INOUT, 'i', 51, Unsafe.SizeOf<Interop.ifreq>()));
        Assert.Equal(SIOCSIFMTU, Encode(IOC_IN, 'i', 52, Unsafe.SizeOf<Interop.ifreq>()));
        Assert.Equal(SIOCDIFADDR_IN6, Encode(IOC_IN, 'i', 25, Unsafe.SizeOf<Interop.in6_ifreq>()));
        Assert.Equal(SIOCAIFADDR_IN6, Encode(IOC_IN, 'i', 26, Unsafe.SizeOf<Interop.in6_aliasreq>()));

        // The values every macOS tool uses (e.g. ifconfig's SIOCSIFMTU and SIOCAIFADDR).
        Assert.Equal(0x80206934u, SIOCSIFMTU);
        Assert.Equal(0x8040691Au, SIOCAIFADDR);
        Assert.Equal(0xC0644E03u, CTLIOCGINFO);
    }

    [Fact]
    public void UtunControlName_IsNulTerminated()
    {
        Assert.Equal("com.apple.net.utun_control\0"u8.ToArray(), Interop.UtunConstants.ControlName.ToArray());
        Assert.Equal(30, Interop.SocketConstants.AF_INET6);
        Assert.Equal(32, Interop.SocketConstants.AF_SYSTEM);
    }
}
