using System.Buffers.Binary;
using System.Net;
using Steer.Protocol;

namespace Steer.Core.Tests.Protocol;

public class IcmpTooBigTests
{
    private static byte[] V4(int length, bool dontFragment, byte protocol = 6)
    {
        byte[] p = new byte[length];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)length);
        p[6] = dontFragment ? (byte)0x40 : (byte)0;
        p[8] = 64;
        p[9] = protocol;
        IPAddress.Parse("100.64.0.2").TryWriteBytes(p.AsSpan(12), out _);
        IPAddress.Parse("198.18.2.2").TryWriteBytes(p.AsSpan(16), out _);
        for (int i = 20; i < length; i++)
        {
            p[i] = (byte)i;
        }

        return p;
    }

    [Fact]
    public void Ipv4_df_packet_gets_frag_needed_from_its_destination_with_valid_checksums()
    {
        byte[] original = V4(1450, dontFragment: true);
        byte[] answer = new byte[IcmpTooBig.MaxLength];

        Assert.True(IcmpTooBig.TryBuild(original, 1400, answer, out int written));

        Assert.Equal(576, written); // RFC 1812: quote as much as fits in 576 bytes
        Assert.Equal(0x45, answer[0]);
        Assert.Equal(written, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(2)));
        Assert.Equal(1, answer[9]);
        Assert.Equal(IPAddress.Parse("198.18.2.2"), new IPAddress(answer.AsSpan(12, 4)));
        Assert.Equal(IPAddress.Parse("100.64.0.2"), new IPAddress(answer.AsSpan(16, 4)));
        Assert.Equal(0, IcmpTooBig.Checksum(answer.AsSpan(0, 20), 0)); // header checksum verifies
        Assert.Equal(3, answer[20]);
        Assert.Equal(4, answer[21]);
        Assert.Equal(1400, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(26)));
        Assert.Equal(0, IcmpTooBig.Checksum(answer.AsSpan(20, written - 20), 0)); // ICMP checksum verifies
        Assert.Equal(original.AsSpan(0, written - 28).ToArray(), answer.AsSpan(28, written - 28).ToArray());
    }

    [Fact]
    public void Ipv4_without_df_or_icmp_errors_get_no_answer()
    {
        byte[] answer = new byte[IcmpTooBig.MaxLength];
        Assert.False(IcmpTooBig.TryBuild(V4(1450, dontFragment: false), 1400, answer, out _));

        byte[] icmpError = V4(1450, dontFragment: true, protocol: 1);
        icmpError[20] = 3; // destination unreachable
        Assert.False(IcmpTooBig.TryBuild(icmpError, 1400, answer, out _));
    }

    [Fact]
    public void Ipv6_packet_gets_packet_too_big_with_a_valid_pseudo_header_checksum()
    {
        byte[] original = new byte[1500];
        original[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(original.AsSpan(4), 1460);
        original[6] = 17;
        IPAddress.Parse("fd53:7ee7:ff::2").TryWriteBytes(original.AsSpan(8), out _);
        IPAddress.Parse("fd53:7ee7:2::2").TryWriteBytes(original.AsSpan(24), out _);
        byte[] answer = new byte[IcmpTooBig.MaxLength];

        Assert.True(IcmpTooBig.TryBuild(original, 1400, answer, out int written));

        Assert.Equal(1280, written);
        Assert.Equal(58, answer[6]);
        Assert.Equal(IPAddress.Parse("fd53:7ee7:2::2"), new IPAddress(answer.AsSpan(8, 16)));
        Assert.Equal(IPAddress.Parse("fd53:7ee7:ff::2"), new IPAddress(answer.AsSpan(24, 16)));
        Assert.Equal(2, answer[40]);
        Assert.Equal(1400u, BinaryPrimitives.ReadUInt32BigEndian(answer.AsSpan(44)));

        // Verify independently: pseudo-header + ICMPv6 message must sum to 0xFFFF.
        byte[] pseudo = new byte[40 + written - 40];
        answer.AsSpan(8, 32).CopyTo(pseudo);
        BinaryPrimitives.WriteUInt32BigEndian(pseudo.AsSpan(32), (uint)(written - 40));
        pseudo[39] = 58;
        byte[] all = [.. pseudo.AsSpan(0, 40), .. answer.AsSpan(40, written - 40)];
        Assert.Equal(0, IcmpTooBig.Checksum(all, 0));
    }
}
