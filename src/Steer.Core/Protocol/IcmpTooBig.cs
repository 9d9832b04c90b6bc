using System.Buffers.Binary;

namespace Steer.Protocol;

/// <summary>
/// Builds ICMP "fragmentation needed" (IPv4, type 3 code 4) and ICMPv6 "packet too big" (type 2) answers to a
/// packet that does not fit the tunnel, so that the sender's path-MTU discovery lowers its packet size instead of
/// the packet being dropped silently. The answer appears to come from the packet's destination.
/// </summary>
public static class IcmpTooBig
{
    /// <summary>Largest answer this builder writes (fits the IPv6 minimum MTU).</summary>
    public const int MaxLength = 1280;

    /// <summary>
    /// Writes the answer to <paramref name="original"/> into <paramref name="destination"/>.
    /// </summary>
    /// <param name="original">The oversized packet, as read from the TUN.</param>
    /// <param name="mtu">The MTU to announce.</param>
    /// <param name="destination">At least <see cref="MaxLength"/> bytes.</param>
    /// <param name="written">Bytes written.</param>
    /// <returns>
    /// False when no answer is due: IPv4 without the Don't-Fragment bit (it may be fragmented instead), an ICMP
    /// error (never answer an error with an error), or a malformed packet.
    /// </returns>
    public static bool TryBuild(ReadOnlySpan<byte> original, int mtu, Span<byte> destination, out int written)
    {
        written = 0;
        return IpPacket.GetVersion(original) switch
        {
            4 => TryBuildV4(original, mtu, destination, out written),
            6 => TryBuildV6(original, mtu, destination, out written),
            _ => false,
        };
    }

    private static bool TryBuildV4(ReadOnlySpan<byte> original, int mtu, Span<byte> destination, out int written)
    {
        written = 0;
        int headerLength = (original[0] & 0x0F) * 4;
        bool dontFragment = (original[6] & 0x40) != 0;
        bool isIcmpError = original[9] == 1 && original.Length > headerLength && original[headerLength] is 3 or 4 or 5 or 11 or 12;
        if (!dontFragment || isIcmpError || original.Length < headerLength)
        {
            return false;
        }

        // RFC 1812: as much of the original as fits in 576 bytes.
        int quoted = Math.Min(original.Length, 576 - 28);
        int total = 20 + 8 + quoted;
        Span<byte> ip = destination[..total];
        ip.Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)total);
        ip[8] = 64;  // TTL
        ip[9] = 1;   // ICMP
        original.Slice(16, 4).CopyTo(ip[12..]); // source = original destination
        original.Slice(12, 4).CopyTo(ip[16..]); // destination = original source
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..20], 0));

        Span<byte> icmp = ip[20..];
        icmp[0] = 3;
        icmp[1] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], (ushort)mtu);
        original[..quoted].CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp, 0));
        written = total;
        return true;
    }

    private static bool TryBuildV6(ReadOnlySpan<byte> original, int mtu, Span<byte> destination, out int written)
    {
        written = 0;
        bool isIcmpError = original[6] == 58 && original.Length > 40 && original[40] < 128;
        if (isIcmpError)
        {
            return false;
        }

        int quoted = Math.Min(original.Length, MaxLength - 48);
        int payload = 8 + quoted;
        Span<byte> ip = destination[..(40 + payload)];
        ip.Clear();
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)payload);
        ip[6] = 58;  // ICMPv6
        ip[7] = 64;  // hop limit
        original.Slice(24, 16).CopyTo(ip[8..]);  // source = original destination
        original.Slice(8, 16).CopyTo(ip[24..]);  // destination = original source

        Span<byte> icmp = ip[40..];
        icmp[0] = 2;
        BinaryPrimitives.WriteUInt32BigEndian(icmp[4..], (uint)mtu);
        original[..quoted].CopyTo(icmp[8..]);

        // Pseudo-header: source, destination, upper-layer length, next header.
        uint sum = Sum(ip.Slice(8, 32), 0);
        sum += (uint)payload;
        sum += 58;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp, sum));
        written = 40 + payload;
        return true;
    }

    /// <summary>The Internet checksum (RFC 1071) of <paramref name="data"/>, continuing from <paramref name="initial"/>.</summary>
    internal static ushort Checksum(ReadOnlySpan<byte> data, uint initial)
    {
        uint sum = Sum(data, initial);
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    private static uint Sum(ReadOnlySpan<byte> data, uint sum)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
            if (sum > 0x7FFF_FFFF)
            {
                sum = (sum & 0xFFFF) + (sum >> 16);
            }
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }

        return sum;
    }
}
