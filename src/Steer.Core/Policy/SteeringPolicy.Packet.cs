using System.Buffers.Binary;

namespace Steer.Policy;

// The per-packet fast path: parse just enough of an IPv4/IPv6 packet to decide, without allocating.
public sealed partial class SteeringPolicy
{
    private const int MaxIPv6ExtensionHeaders = 8;

    /// <summary>
    /// Decides for a raw IP packet (as read from the TUN): true when it goes through the tunnel. Malformed packets
    /// (too short, not IPv4 or IPv6) are false. Allocates nothing.
    /// </summary>
    /// <param name="ipPacket">An IPv4 or IPv6 packet, starting at the IP header.</param>
    /// <returns>True when the policy steers the packet into the tunnel.</returns>
    /// <remarks>
    /// The destination port is read from TCP and UDP headers; IPv6 hop-by-hop, routing, fragment, destination-options
    /// and authentication headers are skipped. A fragment other than the first has no port, so only rules without
    /// ports decide for it (as the kernel's <c>dport</c> rule selector does).
    /// </remarks>
    public bool SteerPacket(ReadOnlySpan<byte> ipPacket) =>
        TryParsePacket(ipPacket, out UInt128 destination, out bool isIPv6, out int protocol, out int port)
        && Decide(destination, isIPv6, protocol, port).Action == PolicyAction.Tunnel;

    /// <summary>Decides for a raw IP packet and says which rule decided.</summary>
    /// <param name="ipPacket">An IPv4 or IPv6 packet, starting at the IP header.</param>
    /// <param name="decision">The decision, when the packet could be parsed.</param>
    /// <returns>False for a malformed packet.</returns>
    public bool TryDecidePacket(ReadOnlySpan<byte> ipPacket, out PolicyDecision decision)
    {
        if (!TryParsePacket(ipPacket, out UInt128 destination, out bool isIPv6, out int protocol, out int port))
        {
            decision = default;
            return false;
        }

        decision = Decide(destination, isIPv6, protocol, port);
        return true;
    }

    /// <summary>
    /// Reads the destination address, the transport protocol and the destination port (negative when there is none
    /// or it cannot be read) of an IP packet. False when the IP header itself is incomplete.
    /// </summary>
    internal static bool TryParsePacket(ReadOnlySpan<byte> packet, out UInt128 destination, out bool isIPv6, out int protocol, out int port)
    {
        destination = UInt128.Zero;
        isIPv6 = false;
        protocol = 0;
        port = -1;
        if (packet.IsEmpty)
        {
            return false;
        }

        int version = packet[0] >> 4;
        if (version == 4)
        {
            int headerLength = (packet[0] & 0x0F) * 4;
            if (headerLength < 20 || packet.Length < headerLength)
            {
                return false;
            }

            destination = BinaryPrimitives.ReadUInt32BigEndian(packet[16..]);
            protocol = packet[9];
            bool firstFragment = (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF) == 0;
            if (firstFragment && protocol is PolicyRule.Tcp or PolicyRule.Udp && packet.Length >= headerLength + 4)
            {
                port = BinaryPrimitives.ReadUInt16BigEndian(packet[(headerLength + 2)..]);
            }

            return true;
        }

        if (version != 6 || packet.Length < 40)
        {
            return false;
        }

        isIPv6 = true;
        destination = BinaryPrimitives.ReadUInt128BigEndian(packet[24..]);
        int next = packet[6];
        int offset = 40;
        bool first = true;
        for (int i = 0; i <= MaxIPv6ExtensionHeaders; i++)
        {
            switch (next)
            {
                case PolicyRule.Tcp or PolicyRule.Udp:
                    protocol = next;
                    if (first && packet.Length >= offset + 4)
                    {
                        port = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
                    }

                    return true;
                case 0 or 43 or 60: // hop-by-hop, routing, destination options: length in 8-byte units, not counting the first 8
                    if (packet.Length < offset + 8)
                    {
                        return true;
                    }

                    next = packet[offset];
                    offset += (packet[offset + 1] + 1) * 8;
                    break;
                case 44: // fragment: 8 bytes; the offset is the upper 13 bits of bytes 2-3
                    if (packet.Length < offset + 8)
                    {
                        return true;
                    }

                    first &= (BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]) & 0xFFF8) == 0;
                    next = packet[offset];
                    offset += 8;
                    break;
                case 51: // authentication header: length in 4-byte units, not counting the first 2
                    if (packet.Length < offset + 8)
                    {
                        return true;
                    }

                    next = packet[offset];
                    offset += (packet[offset + 1] + 2) * 4;
                    break;
                default:
                    protocol = next;
                    return true;
            }
        }

        return true; // Too many extension headers: decide without protocol and port.
    }
}
