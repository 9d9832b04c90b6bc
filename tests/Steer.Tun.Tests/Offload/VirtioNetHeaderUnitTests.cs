using System.Runtime.InteropServices;
using Steer.Tun.Linux;
using Steer.Tun.Linux.Offload;

namespace Steer.Tun.Tests.Offload;

public sealed class VirtioNetHeaderUnitTests
{
    [Fact]
    public void Layout_MatchesStructVirtioNetHdr()
    {
        Assert.Equal(10, Marshal.SizeOf<VirtioNetHeader>());
        Assert.Equal(0, (int)Marshal.OffsetOf<VirtioNetHeader>(nameof(VirtioNetHeader.Flags)));
        Assert.Equal(1, (int)Marshal.OffsetOf<VirtioNetHeader>(nameof(VirtioNetHeader.GsoType)));
        Assert.Equal(2, (int)Marshal.OffsetOf<VirtioNetHeader>(nameof(VirtioNetHeader.HeaderLength)));
        Assert.Equal(4, (int)Marshal.OffsetOf<VirtioNetHeader>(nameof(VirtioNetHeader.GsoSize)));
        Assert.Equal(6, (int)Marshal.OffsetOf<VirtioNetHeader>(nameof(VirtioNetHeader.ChecksumStart)));
        Assert.Equal(8, (int)Marshal.OffsetOf<VirtioNetHeader>(nameof(VirtioNetHeader.ChecksumOffset)));
        Assert.Equal(16, Marshal.SizeOf<Interop.Io.IoVec>());
    }

    [Fact]
    public void ReadAndWrite_HostByteOrder_RoundTrip()
    {
        Assert.True(BitConverter.IsLittleEndian, "every RID Steer ships is little-endian");
        // What the kernel writes for a 64-KiB TCPv4 super-packet on x86-64 / arm64.
        byte[] bytes = [0x01, 0x01, 0x42, 0x00, 0x50, 0x05, 0x14, 0x00, 0x10, 0x00];

        VirtioNetHeader header = VirtioNetHeader.Read(bytes);

        Assert.Equal(VirtioNetHeader.FlagNeedsChecksum, header.Flags);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, header.GsoType);
        Assert.Equal(66, header.HeaderLength);
        Assert.Equal(1360, header.GsoSize);
        Assert.Equal(20, header.ChecksumStart);
        Assert.Equal(16, header.ChecksumOffset);
        byte[] written = new byte[10];
        header.Write(written);
        Assert.Equal(bytes, written);
    }

    [Fact]
    public void IoctlNumbers_MatchLinuxHeaders()
    {
        // _IOW('T', n, int) = 0x40045400 | n; _IOR = 0x80045400 | n (asm-generic/ioctl.h, x86-64 and arm64).
        Assert.Equal(0x400454CA, Interop.IfReqConstants.TUNSETIFF);
        Assert.Equal(unchecked((int)0x800454CF), Interop.IfReqConstants.TUNGETFEATURES);
        Assert.Equal(0x400454D0, Interop.IfReqConstants.TUNSETOFFLOAD);
        Assert.Equal(0x400454D8, Interop.IfReqConstants.TUNSETVNETHDRSZ);
        Assert.Equal(0x4000, Interop.IfReqConstants.IFF_VNET_HDR);
    }
}
