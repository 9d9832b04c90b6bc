using System.Buffers.Binary;
using System.Net;
using Steer.Tun.MacOS;
using static Steer.Tun.MacOS.Interop.RouteConstants;

namespace Steer.Tun.Tests.MacOS;

/// <summary>
/// PF_ROUTE messages byte for byte against arrays written out by hand from macOS's net/route.h (little-endian, as every
/// Mac is): rt_msghdr {u16 msglen; u8 version = 5, type; u16 index; 2 bytes padding; i32 flags, addrs, pid, seq,
/// errno, use; u32 inits; 56 bytes of rt_metrics}, then the sockaddrs in RTA bit order, each padded to 4 bytes
/// (XNU's ROUNDUP32). sockaddr_in = {len 16, AF_INET 2, port, addr, zero[8]}, sockaddr_in6 = {len 28, AF_INET6 30,
/// port, flowinfo, addr[16], scope}, sockaddr_dl = {len 20, AF_LINK 18, u16 index, type, nlen, alen, slen, data[12]}.
/// </summary>
public sealed class RouteSocketMessagesUnitTests
{
    private static readonly byte[] s_metrics = new byte[56];

    [Fact]
    public void EncodeChange_AddOnLinkIpv4Route_NamesTheInterfaceWithALinkGateway()
    {
        byte[] expected =
        [
            // rt_msghdr: msglen 144, version 5, RTM_ADD, index 0, padding
            0x90, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00,
            // flags RTF_UP|RTF_STATIC (0x801), addrs DST|GATEWAY|NETMASK (7)
            0x01, 0x08, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
            // pid 0, seq 1, errno 0, use 0, inits 0
            0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            .. s_metrics,
            // RTA_DST sockaddr_in 198.18.2.0
            0x10, 0x02, 0x00, 0x00, 0xC6, 0x12, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            // RTA_GATEWAY sockaddr_dl: len 20, AF_LINK 18, index 7, rest zero
            0x14, 0x12, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            // RTA_NETMASK sockaddr_in 255.255.255.0
            0x10, 0x02, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];

        AssertEncodes(expected, b => RouteSocketMessages.EncodeChange(b, RTM_ADD, 1, IPNetwork.Parse("198.18.2.0/24"), 7, null));
    }

    [Fact]
    public void EncodeChange_AddIpv6HalfViaGateway_HasGatewayFlagAndFullLengthMask()
    {
        byte[] expected =
        [
            // msglen 176, version 5, RTM_ADD, index 0, padding
            0xB0, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00,
            // flags RTF_UP|RTF_GATEWAY|RTF_STATIC (0x803), addrs 7
            0x03, 0x08, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
            // pid 0, seq 2, errno, use, inits
            0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            .. s_metrics,
            // RTA_DST sockaddr_in6 ::
            0x1C, 0x1E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
            // RTA_GATEWAY sockaddr_in6 fd00::1
            0x1C, 0x1E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xFD, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            0x00, 0x00, 0x00, 0x00,
            // RTA_NETMASK sockaddr_in6 8000:: (/1)
            0x1C, 0x1E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
        ];

        AssertEncodes(expected, b => RouteSocketMessages.EncodeChange(b, RTM_ADD, 2, IPNetwork.Parse("::/1"), 7, IPAddress.Parse("fd00::1")));
    }

    [Fact]
    public void EncodeChange_DeleteHostRouteViaGateway_HasHostFlagAndNoNetmask()
    {
        byte[] expected =
        [
            // msglen 124, version 5, RTM_DELETE, index 0, padding
            0x7C, 0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00,
            // flags RTF_UP|RTF_GATEWAY|RTF_HOST|RTF_STATIC (0x807), addrs DST|GATEWAY (3)
            0x07, 0x08, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
            // pid 0, seq 3, errno, use, inits
            0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            .. s_metrics,
            // RTA_DST 203.0.113.9
            0x10, 0x02, 0x00, 0x00, 0xCB, 0x00, 0x71, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            // RTA_GATEWAY 192.168.1.1
            0x10, 0x02, 0x00, 0x00, 0xC0, 0xA8, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];

        AssertEncodes(expected, b => RouteSocketMessages.EncodeChange(b, RTM_DELETE, 3, IPNetwork.Parse("203.0.113.9/32"), 3, IPAddress.Parse("192.168.1.1")));
    }

    [Fact]
    public void EncodeGet_AsksForTheInterfaceWithAnEmptyLinkAddress()
    {
        byte[] expected =
        [
            // msglen 128, version 5, RTM_GET, index 0, padding
            0x80, 0x00, 0x05, 0x04, 0x00, 0x00, 0x00, 0x00,
            // flags RTF_UP|RTF_HOST (5), addrs DST|IFP (0x11)
            0x05, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00,
            // pid 0, seq 0x01020304, errno, use, inits
            0x00, 0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            .. s_metrics,
            // RTA_DST 8.8.8.8
            0x10, 0x02, 0x00, 0x00, 0x08, 0x08, 0x08, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            // RTA_IFP empty sockaddr_dl
            0x14, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];

        AssertEncodes(expected, b => RouteSocketMessages.EncodeGet(b, 0x01020304, IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public void WriteAddress_ScopedLinkLocal_EmbedsTheScopeKameStyle()
    {
        byte[] expected =
        [
            0x1C, 0x1E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            // fe80:0004::1: scope 4 in bytes 2-3, big-endian
            0xFE, 0x80, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            // sin6_scope_id 0
            0x00, 0x00, 0x00, 0x00,
        ];

        AssertEncodes(expected, b => RouteSocketMessages.WriteAddress(b, IPAddress.Parse("fe80::1%4")));
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(1, 4)]
    [InlineData(4, 4)]
    [InlineData(5, 8)]
    [InlineData(16, 16)]
    [InlineData(20, 20)]
    [InlineData(28, 28)]
    public void RoundUp_PadsToFourBytesAndEmptyTakesFour(int length, int expected)
    {
        Assert.Equal(expected, RouteSocketMessages.RoundUp(length));
    }

    [Fact]
    public void TryParseGetReply_GatewayRoute_ReturnsGatewayAndIndex()
    {
        byte[] reply =
        [
            .. Header(msglen: 164, type: RTM_GET, index: 5, flags: 0x843, addrs: 0x37, pid: 4242, seq: 7),
            // RTA_DST 0.0.0.0
            0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            // RTA_GATEWAY 192.168.1.1
            0x10, 0x02, 0x00, 0x00, 0xC0, 0xA8, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            // RTA_NETMASK compacted by the kernel to sa_len 0: still takes 4 bytes
            0x00, 0x00, 0x00, 0x00,
            // RTA_IFP sockaddr_dl: index 5, IFT_ETHER, name "en0", 6-byte MAC
            0x14, 0x12, 0x05, 0x00, 0x06, 0x03, 0x06, 0x00, 0x65, 0x6E, 0x30, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, 0x00,
            // RTA_IFA 192.168.1.23
            0x10, 0x02, 0x00, 0x00, 0xC0, 0xA8, 0x01, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];

        Assert.True(RouteSocketMessages.TryParseGetReply(reply, 4242, 7, out RouteReply parsed));
        Assert.Equal(IPAddress.Parse("192.168.1.1"), parsed.Gateway);
        Assert.Equal(5, parsed.InterfaceIndex);
        Assert.Equal(0, parsed.Error);
        Assert.Equal(0x843, parsed.Flags);
    }

    [Fact]
    public void TryParseGetReply_OnLinkRoute_HasNoGatewayAndTakesIndexFromIfp()
    {
        byte[] reply =
        [
            // rtm_index 0: the index comes from RTA_IFP; no RTF_GATEWAY, so the AF_LINK "gateway" is not a next hop
            .. Header(msglen: 92 + 16 + 20 + 20, type: RTM_GET, index: 0, flags: 0x41, addrs: 0x13, pid: 99, seq: 1),
            0x10, 0x02, 0x00, 0x00, 0xC6, 0x12, 0x02, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x12, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x12, 0x09, 0x00, 0x00, 0x05, 0x00, 0x00, 0x75, 0x74, 0x75, 0x6E, 0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];

        Assert.True(RouteSocketMessages.TryParseGetReply(reply, 99, 1, out RouteReply parsed));
        Assert.Null(parsed.Gateway);
        Assert.Equal(9, parsed.InterfaceIndex);
    }

    [Fact]
    public void TryParseGetReply_LinkLocalIpv6Gateway_UndoesScopeEmbedding()
    {
        byte[] reply =
        [
            .. Header(msglen: 92 + 28 + 28, type: RTM_GET, index: 4, flags: 0x803, addrs: 0x03, pid: 1, seq: 2),
            0x1C, 0x1E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            0x1C, 0x1E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xFE, 0x80, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        ];

        Assert.True(RouteSocketMessages.TryParseGetReply(reply, 1, 2, out RouteReply parsed));
        Assert.Equal(IPAddress.Parse("fe80::1%4"), parsed.Gateway);
        Assert.Equal(4, parsed.Gateway!.ScopeId);
    }

    [Theory]
    [InlineData(4243, 7)]
    [InlineData(4242, 8)]
    public void TryParseGetReply_AnotherProcessOrSequence_IsNotOurs(int pid, int seq)
    {
        byte[] reply = [.. Header(msglen: 92, type: RTM_GET, index: 1, flags: 1, addrs: 0, pid: pid, seq: seq)];

        Assert.False(RouteSocketMessages.TryParseGetReply(reply, 4242, 7, out _));
    }

    [Fact]
    public void TryParseGetReply_AnotherMessageType_IsNotOurs()
    {
        byte[] reply = [.. Header(msglen: 92, type: RTM_ADD, index: 1, flags: 1, addrs: 0, pid: 4242, seq: 7)];

        Assert.False(RouteSocketMessages.TryParseGetReply(reply, 4242, 7, out _));
    }

    /// <summary>An rt_msghdr written field by field from the header's C layout, independently of the struct.</summary>
    private static byte[] Header(int msglen, byte type, ushort index, int flags, int addrs, int pid, int seq)
    {
        byte[] header = new byte[92];
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(0), (ushort)msglen);
        header[2] = 5;
        header[3] = type;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), index);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), flags);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), addrs);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), pid);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(20), seq);
        return header;
    }

    private delegate int Encoder(Span<byte> buffer);

    private static void AssertEncodes(byte[] expected, Encoder encode)
    {
        byte[] buffer = new byte[512];
        buffer.AsSpan().Fill(0xEE); // every byte the encoder owns must be written, padding included
        int length = encode(buffer);
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(buffer, 0, length));
    }
}
