using System.Buffers.Binary;
using System.Net;

namespace Steer.Tun.Tests;

/// <summary>Builds and checks the IPv4/ICMP packets the elevated tests send through a TUN device.</summary>
internal static class TestPackets
{
    public const int Ipv4HeaderLength = 20;
    public const int IcmpHeaderLength = 8;

    /// <summary>The Internet checksum (RFC 1071): one's complement of the one's-complement sum of 16-bit words.</summary>
    public static ushort InternetChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8); // odd length: pad with a zero byte
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>An IPv4 packet carrying an ICMP echo request (type 8) with correct IP and ICMP checksums.</summary>
    public static byte[] Ipv4EchoRequest(IPAddress source, IPAddress destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> payload)
    {
        int total = Ipv4HeaderLength + IcmpHeaderLength + payload.Length;
        var packet = new byte[total];
        Span<byte> ip = packet.AsSpan(0, Ipv4HeaderLength);
        ip[0] = 0x45;                                       // version 4, IHL 5
        ip[1] = 0;                                          // DSCP/ECN
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)total);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0x5EE7); // identification
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000); // DF, fragment offset 0
        ip[8] = 64;                                         // TTL
        ip[9] = 1;                                          // protocol ICMP
        source.TryWriteBytes(ip[12..16], out _);
        destination.TryWriteBytes(ip[16..20], out _);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum(ip));

        Span<byte> icmp = packet.AsSpan(Ipv4HeaderLength);
        icmp[0] = 8;                                        // echo request
        icmp[1] = 0;                                        // code
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        payload.CopyTo(icmp[IcmpHeaderLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], InternetChecksum(icmp));
        return packet;
    }

    /// <summary>True when <paramref name="packet"/> is a valid IPv4 ICMP echo reply from/to the given hosts for the given echo.</summary>
    public static bool IsEchoReply(ReadOnlySpan<byte> packet, IPAddress from, IPAddress to, ushort identifier, ushort sequence, ReadOnlySpan<byte> payload)
    {
        if (packet.Length < Ipv4HeaderLength + IcmpHeaderLength || packet[0] >> 4 != 4)
        {
            return false;
        }

        int headerLength = (packet[0] & 0x0F) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if (total > packet.Length || headerLength < Ipv4HeaderLength || total < headerLength + IcmpHeaderLength || packet[9] != 1)
        {
            return false;
        }

        if (!new IPAddress(packet[12..16]).Equals(from) || !new IPAddress(packet[16..20]).Equals(to))
        {
            return false;
        }

        Assert.Equal(0, InternetChecksum(packet[..headerLength])); // a valid header sums to zero
        ReadOnlySpan<byte> icmp = packet[headerLength..total];
        return icmp[0] == 0 && icmp[1] == 0
            && InternetChecksum(icmp) == 0
            && BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]) == identifier
            && BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]) == sequence
            && icmp[IcmpHeaderLength..].SequenceEqual(payload);
    }
}
