using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Steer.Tun.Linux;

namespace Steer.Tun.Tests;

/// <summary>Sizes and offsets of the native structs, as in the Linux headers (64-bit).</summary>
public sealed class InteropLayoutUnitTests
{
    [Fact]
    public void IfReq_HasKernelLayout()
    {
        Assert.Equal(40, Unsafe.SizeOf<Interop.ifreq>());
        Assert.Equal(16, (int)Marshal.OffsetOf<Interop.ifreq>(nameof(Interop.ifreq.ifr_flags)));
        Assert.Equal(16, (int)Marshal.OffsetOf<Interop.ifreq>(nameof(Interop.ifreq.ifr_ifindex)));
        Assert.Equal(16, (int)Marshal.OffsetOf<Interop.ifreq>(nameof(Interop.ifreq.ifr_mtu)));
    }

    [Fact]
    public void SockaddrNl_And_Timeval_HaveKernelLayout()
    {
        Assert.Equal(12, Unsafe.SizeOf<Interop.sockaddr_nl>());
        Assert.Equal(4, (int)Marshal.OffsetOf<Interop.sockaddr_nl>(nameof(Interop.sockaddr_nl.nl_pid)));
        Assert.Equal(16, Unsafe.SizeOf<Interop.timeval>());
    }

    [Fact]
    public void Tunsetiff_IsIowT202Int()
    {
        // _IOW('T', 202, int) = (1 << 30) | (sizeof(int) << 16) | ('T' << 8) | 202
        Assert.Equal((1 << 30) | (4 << 16) | ('T' << 8) | 202, Interop.IfReqConstants.TUNSETIFF);
    }
}
