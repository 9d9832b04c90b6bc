using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Steer.Protocol;

/// <summary>Allocation-free reads of the fields Steer needs from raw IPv4/IPv6 packets.</summary>
public static class IpPacket
{
    /// <summary>Returns 4 or 6 for a plausible IPv4/IPv6 packet (header complete), otherwise 0.</summary>
    public static int GetVersion(ReadOnlySpan<byte> packet)
    {
        if (packet.IsEmpty)
        {
            return 0;
        }

        return (packet[0] >> 4) switch
        {
            4 when packet.Length >= 20 && (packet[0] & 0x0F) >= 5 => 4,
            6 when packet.Length >= 40 => 6,
            _ => 0,
        };
    }

    /// <summary>
    /// True for a unicast IPv4/IPv6 packet that a gateway can route: false for malformed packets, IPv6 link-local
    /// sources (router and neighbour solicitations, MLD reports the kernel sends on any interface), and multicast or
    /// broadcast destinations. Such packets never leave the link, so the client drops them instead of tunnelling them.
    /// </summary>
    public static bool IsTunnelable(ReadOnlySpan<byte> packet) => GetVersion(packet) switch
    {
        4 => packet[16] < 224 && GetIPv4Destination(packet) != uint.MaxValue,
        6 => packet[24] != 0xFF && !(packet[8] == 0xFE && (packet[9] & 0xC0) == 0x80) && !IsUnspecifiedV6Source(packet),
        _ => false,
    };

    private static bool IsUnspecifiedV6Source(ReadOnlySpan<byte> packet) => GetIPv6Source(packet) == UInt128.Zero;

    /// <summary>IPv4 source address as a big-endian-ordered integer (first octet highest).</summary>
    public static uint GetIPv4Source(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt32BigEndian(packet[12..]);

    /// <summary>IPv4 destination address as a big-endian-ordered integer.</summary>
    public static uint GetIPv4Destination(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt32BigEndian(packet[16..]);

    /// <summary>IPv6 source address as a 128-bit integer.</summary>
    public static UInt128 GetIPv6Source(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt128BigEndian(packet[8..]);

    /// <summary>IPv6 destination address as a 128-bit integer.</summary>
    public static UInt128 GetIPv6Destination(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt128BigEndian(packet[24..]);

    /// <summary>Converts an IPv4 address to the integer form used above.</summary>
    public static uint ToUInt32(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"{address} is not an IPv4 address.", nameof(address));
        }

        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    /// <summary>Converts an IPv6 address to the integer form used above.</summary>
    public static UInt128 ToUInt128(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"{address} is not an IPv6 address.", nameof(address));
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }
}
