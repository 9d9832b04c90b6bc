using System.Buffers.Binary;

namespace Steer.MicroBench.Infrastructure;

/// <summary>Builds plausible IPv4/IPv6 packets (headers filled in, payload zero) for the benchmarks.</summary>
internal static class TestPackets
{
    /// <summary>An IPv4 TCP packet of <paramref name="size"/> bytes from 100.64.0.2 to <paramref name="destination"/>.</summary>
    public static byte[] IPv4(int size, uint destination = 0xC6_12_02_02 /* 198.18.2.2 */)
    {
        byte[] packet = new byte[Math.Max(size, 20)];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[8] = 64;
        packet[9] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), 0x64_40_00_02);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(16), destination);
        return packet;
    }

    /// <summary>An IPv6 TCP packet of <paramref name="size"/> bytes; <paramref name="source"/> and <paramref name="destination"/> as 128-bit integers.</summary>
    public static byte[] IPv6(int size, UInt128 source, UInt128 destination)
    {
        byte[] packet = new byte[Math.Max(size, 40)];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)(packet.Length - 40));
        packet[6] = 6;
        packet[7] = 64;
        BinaryPrimitives.WriteUInt128BigEndian(packet.AsSpan(8), source);
        BinaryPrimitives.WriteUInt128BigEndian(packet.AsSpan(24), destination);
        return packet;
    }

    /// <summary>fd53:7ee7:1::2 style addresses: the lab's ULA prefix with a host number.</summary>
    public static UInt128 Ula(ushort subnet, ulong host) => new(0xfd53_7ee7_0000_0000UL | ((ulong)subnet << 16), host);
}
