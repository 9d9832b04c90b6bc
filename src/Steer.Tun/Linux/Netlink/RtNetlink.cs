using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Steer.Tun.Linux.Netlink;

/// <summary>
/// Encoding and decoding of the rtnetlink messages Steer uses, as pure functions over spans so that unit tests can
/// check the bytes. Layouts and constants are those of <c>linux/netlink.h</c>, <c>linux/rtnetlink.h</c>,
/// <c>linux/if_link.h</c> and <c>linux/if_addr.h</c>.
/// </summary>
internal static class RtNetlink
{
    // struct sizes
    internal const int NlMsgHdrSize = 16;   // u32 len, u16 type, u16 flags, u32 seq, u32 pid
    internal const int IfInfoMsgSize = 16;  // u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change
    internal const int IfAddrMsgSize = 8;   // u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index
    internal const int RtMsgSize = 12;      // u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags
    internal const int RtAttrSize = 4;      // u16 len, u16 type
    internal const int NlMsgErrSize = 4 + NlMsgHdrSize; // s32 error, struct nlmsghdr msg

    // message types
    internal const ushort NLMSG_ERROR = 2;
    internal const ushort NLMSG_DONE = 3;
    internal const ushort RTM_NEWLINK = 16;
    internal const ushort RTM_GETLINK = 18;
    internal const ushort RTM_NEWADDR = 20;
    internal const ushort RTM_DELADDR = 21;
    internal const ushort RTM_NEWROUTE = 24;
    internal const ushort RTM_DELROUTE = 25;
    internal const ushort RTM_GETROUTE = 26;

    // nlmsg_flags
    internal const ushort NLM_F_REQUEST = 0x1;
    internal const ushort NLM_F_ACK = 0x4;
    internal const ushort NLM_F_REPLACE = 0x100;
    internal const ushort NLM_F_EXCL = 0x200;
    internal const ushort NLM_F_CREATE = 0x400;
    internal const ushort NLM_F_CAPPED = 0x100;   // in NLMSG_ERROR: the request was not echoed in full
    internal const ushort NLM_F_ACK_TLVS = 0x200; // in NLMSG_ERROR: extended-ack attributes follow

    // socket options (SOL_NETLINK)
    internal const int SOL_NETLINK = 270;
    internal const int NETLINK_CAP_ACK = 10;
    internal const int NETLINK_EXT_ACK = 11;
    internal const int NETLINK_ROUTE = 0;
    internal const ushort NLMSGERR_ATTR_MSG = 1;

    // link
    internal const uint IFF_UP = 0x1;
    internal const ushort IFLA_MTU = 4;

    // address
    internal const ushort IFA_ADDRESS = 1;
    internal const ushort IFA_LOCAL = 2;
    internal const byte IFA_F_NODAD = 0x02;

    // route
    internal const ushort RTA_DST = 1;
    internal const ushort RTA_OIF = 4;
    internal const ushort RTA_GATEWAY = 5;
    internal const ushort RTA_PRIORITY = 6;
    internal const ushort RTA_TABLE = 15;
    internal const byte RTPROT_UNSPEC = 0;
    internal const byte RTPROT_STATIC = 4;
    internal const byte RT_SCOPE_UNIVERSE = 0;
    internal const byte RT_SCOPE_LINK = 253;
    internal const byte RT_SCOPE_NOWHERE = 255;
    internal const byte RTN_UNSPEC = 0;
    internal const byte RTN_UNICAST = 1;
    internal const byte RTN_LOCAL = 2;
    internal const byte RT_TABLE_UNSPEC = 0;
    internal const uint RTM_F_LOOKUP_TABLE = 0x1000;

    internal const byte AF_INET = 2;
    internal const byte AF_INET6 = 10;

    /// <summary>Flags for a change that the kernel acknowledges.</summary>
    internal const ushort RequestAck = NLM_F_REQUEST | NLM_F_ACK;

    /// <summary>NLMSG_ALIGN / RTA_ALIGN: rounds up to a multiple of 4.</summary>
    internal static int Align(int length) => (length + 3) & ~3;

    /// <summary>
    /// RTM_NEWLINK that sets the MTU and the IFF_UP flag of an existing link (<c>ip link set dev X mtu M up|down</c>).
    /// </summary>
    internal static int EncodeSetLink(Span<byte> buffer, uint sequence, int interfaceIndex, bool up, int mtu)
    {
        var w = new NetlinkWriter(buffer, RTM_NEWLINK, RequestAck, sequence);
        w.WriteByte(0);                     // ifi_family = AF_UNSPEC
        w.WriteByte(0);                     // __ifi_pad
        w.WriteUInt16(0);                   // ifi_type
        w.WriteUInt32((uint)interfaceIndex); // ifi_index
        w.WriteUInt32(up ? IFF_UP : 0);     // ifi_flags
        w.WriteUInt32(IFF_UP);              // ifi_change: only IFF_UP is changed
        w.AttributeUInt32(IFLA_MTU, (uint)mtu);
        return w.Finish();
    }

    /// <summary>RTM_GETLINK for one interface (<c>ip link show dev X</c>); the answer is one RTM_NEWLINK.</summary>
    internal static int EncodeGetLink(Span<byte> buffer, uint sequence, int interfaceIndex)
    {
        var w = new NetlinkWriter(buffer, RTM_GETLINK, NLM_F_REQUEST, sequence);
        w.WriteByte(0);
        w.WriteByte(0);
        w.WriteUInt16(0);
        w.WriteUInt32((uint)interfaceIndex);
        w.WriteUInt32(0);
        w.WriteUInt32(0);
        return w.Finish();
    }

    /// <summary>
    /// RTM_NEWADDR (create, fail if present) or RTM_DELADDR. IPv4 carries IFA_LOCAL and IFA_ADDRESS (the same address,
    /// as <c>ip addr add</c> sends for a non-point-to-point address); IPv6 carries IFA_ADDRESS and IFA_F_NODAD.
    /// </summary>
    internal static int EncodeAddress(Span<byte> buffer, uint sequence, bool add, int interfaceIndex, InterfaceAddress address)
    {
        bool v4 = address.Address.AddressFamily == AddressFamily.InterNetwork;
        ushort flags = add ? (ushort)(RequestAck | NLM_F_CREATE | NLM_F_EXCL) : RequestAck;
        var w = new NetlinkWriter(buffer, add ? RTM_NEWADDR : RTM_DELADDR, flags, sequence);
        w.WriteByte(v4 ? AF_INET : AF_INET6);  // ifa_family
        w.WriteByte((byte)address.PrefixLength); // ifa_prefixlen
        w.WriteByte(v4 ? (byte)0 : IFA_F_NODAD); // ifa_flags
        w.WriteByte(RT_SCOPE_UNIVERSE);        // ifa_scope
        w.WriteUInt32((uint)interfaceIndex);   // ifa_index
        if (v4)
        {
            w.AttributeAddress(IFA_LOCAL, address.Address);
        }

        w.AttributeAddress(IFA_ADDRESS, address.Address);
        return w.Finish();
    }

    /// <summary>
    /// RTM_NEWROUTE (create or replace) or RTM_DELROUTE. Attributes, in this order: RTA_DST (omitted for a default
    /// route), RTA_OIF, RTA_GATEWAY (if any), RTA_PRIORITY (if not 0), RTA_TABLE. An added route without a gateway
    /// has scope link; a deletion uses scope nowhere and no protocol or type, so that it matches any of them.
    /// </summary>
    internal static int EncodeRoute(Span<byte> buffer, uint sequence, bool add, RouteEntry route)
    {
        bool v4 = route.Destination.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        ushort flags = add ? (ushort)(RequestAck | NLM_F_CREATE | NLM_F_REPLACE) : RequestAck;
        var w = new NetlinkWriter(buffer, add ? RTM_NEWROUTE : RTM_DELROUTE, flags, sequence);
        w.WriteByte(v4 ? AF_INET : AF_INET6);                      // rtm_family
        w.WriteByte((byte)route.Destination.PrefixLength);         // rtm_dst_len
        w.WriteByte(0);                                            // rtm_src_len
        w.WriteByte(0);                                            // rtm_tos
        w.WriteByte(route.Table is > 0 and < 256 ? (byte)route.Table : RT_TABLE_UNSPEC); // rtm_table
        w.WriteByte(add ? RTPROT_STATIC : RTPROT_UNSPEC);          // rtm_protocol
        w.WriteByte(!add ? RT_SCOPE_NOWHERE : route.Gateway is null ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE); // rtm_scope
        w.WriteByte(add ? RTN_UNICAST : RTN_UNSPEC);               // rtm_type
        w.WriteUInt32(0);                                          // rtm_flags
        if (route.Destination.PrefixLength > 0)
        {
            w.AttributeAddress(RTA_DST, route.Destination.BaseAddress);
        }

        w.AttributeUInt32(RTA_OIF, (uint)route.InterfaceIndex);
        if (route.Gateway is not null)
        {
            w.AttributeAddress(RTA_GATEWAY, route.Gateway);
        }

        if (route.Metric != 0)
        {
            w.AttributeUInt32(RTA_PRIORITY, (uint)route.Metric);
        }

        w.AttributeUInt32(RTA_TABLE, (uint)route.Table);
        return w.Finish();
    }

    /// <summary>
    /// RTM_GETROUTE for one address (<c>ip route get A</c>), with RTM_F_LOOKUP_TABLE so that the answer names the
    /// table that matched.
    /// </summary>
    internal static int EncodeGetRoute(Span<byte> buffer, uint sequence, IPAddress destination)
    {
        bool v4 = destination.AddressFamily == AddressFamily.InterNetwork;
        var w = new NetlinkWriter(buffer, RTM_GETROUTE, NLM_F_REQUEST, sequence);
        w.WriteByte(v4 ? AF_INET : AF_INET6);
        w.WriteByte(v4 ? (byte)32 : (byte)128);
        w.WriteByte(0);
        w.WriteByte(0);
        w.WriteByte(RT_TABLE_UNSPEC);
        w.WriteByte(RTPROT_UNSPEC);
        w.WriteByte(RT_SCOPE_UNIVERSE);
        w.WriteByte(RTN_UNSPEC);
        w.WriteUInt32(RTM_F_LOOKUP_TABLE);
        w.AttributeAddress(RTA_DST, destination);
        return w.Finish();
    }

    /// <summary>Reads the <c>nlmsghdr</c> at the start of <paramref name="message"/>.</summary>
    /// <returns>False when the span does not hold a complete, well-formed message.</returns>
    internal static bool TryReadHeader(ReadOnlySpan<byte> message, out int length, out ushort type, out ushort flags, out uint sequence)
    {
        length = 0;
        type = 0;
        flags = 0;
        sequence = 0;
        if (message.Length < NlMsgHdrSize)
        {
            return false;
        }

        uint len = MemoryMarshal.Read<uint>(message);
        if (len < NlMsgHdrSize || len > (uint)message.Length)
        {
            return false;
        }

        length = (int)len;
        type = MemoryMarshal.Read<ushort>(message[4..]);
        flags = MemoryMarshal.Read<ushort>(message[6..]);
        sequence = MemoryMarshal.Read<uint>(message[8..]);
        return true;
    }

    /// <summary>
    /// Decodes an NLMSG_ERROR message: 0 for an acknowledgement, otherwise a positive errno, plus the kernel's
    /// extended-ack text when it sent one.
    /// </summary>
    internal static int ParseError(ReadOnlySpan<byte> message, out string? kernelMessage)
    {
        kernelMessage = null;
        if (!TryReadHeader(message, out int length, out ushort type, out ushort flags, out _) || type != NLMSG_ERROR
            || length < NlMsgHdrSize + NlMsgErrSize)
        {
            throw new InvalidDataException("Malformed NLMSG_ERROR message.");
        }

        int error = -MemoryMarshal.Read<int>(message[NlMsgHdrSize..]);
        if ((flags & NLM_F_ACK_TLVS) != 0)
        {
            // The request is echoed after the error code: only its header when NLM_F_CAPPED, else all of it.
            ReadOnlySpan<byte> echoed = message[(NlMsgHdrSize + 4)..length];
            int echoedLength = (flags & NLM_F_CAPPED) != 0 ? NlMsgHdrSize : Align((int)MemoryMarshal.Read<uint>(echoed));
            int tlvStart = NlMsgHdrSize + 4 + echoedLength;
            if (tlvStart <= length)
            {
                foreach (var (attrType, payload) in new AttributeEnumerable(message[tlvStart..length]))
                {
                    if (attrType == NLMSGERR_ATTR_MSG)
                    {
                        int end = payload.IndexOf((byte)0);
                        kernelMessage = Encoding.UTF8.GetString(end < 0 ? payload : payload[..end]);
                    }
                }
            }
        }

        return error;
    }

    /// <summary>
    /// Decodes an RTM_NEWROUTE message (the answer to RTM_GETROUTE, or one entry of a dump) into a route:
    /// RTA_DST/rtm_dst_len, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY and RTA_TABLE (falling back to rtm_table).
    /// </summary>
    /// <param name="message">One complete message, starting with its nlmsghdr.</param>
    /// <param name="routeType">The route's rtm_type (RTN_UNICAST, RTN_LOCAL, RTN_UNREACHABLE, …).</param>
    /// <returns>The route, or <see langword="null"/> when the message is not an IPv4/IPv6 RTM_NEWROUTE.</returns>
    internal static RouteEntry? ParseRoute(ReadOnlySpan<byte> message, out byte routeType)
    {
        routeType = 0;
        if (!TryReadHeader(message, out int length, out ushort type, out _, out _) || type != RTM_NEWROUTE
            || length < NlMsgHdrSize + RtMsgSize)
        {
            return null;
        }

        ReadOnlySpan<byte> rtm = message[NlMsgHdrSize..length];
        byte family = rtm[0];
        if (family is not (AF_INET or AF_INET6))
        {
            return null;
        }

        int addressLength = family == AF_INET ? 4 : 16;
        int dstLen = rtm[1];
        int table = rtm[4];
        routeType = rtm[7];
        IPAddress? destination = null;
        IPAddress? gateway = null;
        int oif = 0;
        int metric = 0;
        foreach (var (attrType, payload) in new AttributeEnumerable(rtm[RtMsgSize..]))
        {
            switch (attrType)
            {
                case RTA_DST when payload.Length == addressLength:
                    destination = new IPAddress(payload);
                    break;
                case RTA_GATEWAY when payload.Length == addressLength:
                    gateway = new IPAddress(payload);
                    break;
                case RTA_OIF when payload.Length >= 4:
                    oif = MemoryMarshal.Read<int>(payload);
                    break;
                case RTA_PRIORITY when payload.Length >= 4:
                    metric = MemoryMarshal.Read<int>(payload);
                    break;
                case RTA_TABLE when payload.Length >= 4:
                    table = MemoryMarshal.Read<int>(payload);
                    break;
            }
        }

        destination ??= family == AF_INET ? IPAddress.Any : IPAddress.IPv6Any;
        int maxPrefix = addressLength * 8;
        if (dstLen > maxPrefix)
        {
            return null;
        }

        var network = new IPNetwork(InterfaceAddress.Mask(destination, dstLen), dstLen);
        return new RouteEntry(network, oif, gateway, table, metric);
    }

    /// <summary>Decodes an RTM_NEWLINK message: the link's flags (IFF_UP, …) and its IFLA_MTU.</summary>
    internal static bool TryParseLink(ReadOnlySpan<byte> message, out int interfaceIndex, out uint flags, out int mtu)
    {
        interfaceIndex = 0;
        flags = 0;
        mtu = 0;
        if (!TryReadHeader(message, out int length, out ushort type, out _, out _) || type != RTM_NEWLINK
            || length < NlMsgHdrSize + IfInfoMsgSize)
        {
            return false;
        }

        ReadOnlySpan<byte> ifi = message[NlMsgHdrSize..length];
        interfaceIndex = MemoryMarshal.Read<int>(ifi[4..]);
        flags = MemoryMarshal.Read<uint>(ifi[8..]);
        foreach (var (attrType, payload) in new AttributeEnumerable(ifi[IfInfoMsgSize..]))
        {
            if (attrType == IFLA_MTU && payload.Length >= 4)
            {
                mtu = MemoryMarshal.Read<int>(payload);
            }
        }

        return true;
    }

    /// <summary>Iterates the <c>rtattr</c>s in a span, stopping at the first malformed one.</summary>
    internal readonly ref struct AttributeEnumerable(ReadOnlySpan<byte> attributes)
    {
        private readonly ReadOnlySpan<byte> _attributes = attributes;

        public AttributeEnumerator GetEnumerator() => new(_attributes);
    }

    /// <summary>One attribute: its type (without the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits) and its payload.</summary>
    internal readonly ref struct Attribute(ushort type, ReadOnlySpan<byte> payload)
    {
        public ushort Type { get; } = type;

        public ReadOnlySpan<byte> Payload { get; } = payload;

        public void Deconstruct(out ushort type, out ReadOnlySpan<byte> payload)
        {
            type = Type;
            payload = Payload;
        }
    }

    /// <summary>Enumerator for <see cref="AttributeEnumerable"/>.</summary>
    internal ref struct AttributeEnumerator(ReadOnlySpan<byte> attributes)
    {
        private ReadOnlySpan<byte> _rest = attributes;

        public Attribute Current { get; private set; }

        public bool MoveNext()
        {
            if (_rest.Length < RtAttrSize)
            {
                return false;
            }

            ushort length = MemoryMarshal.Read<ushort>(_rest);
            ushort type = (ushort)(MemoryMarshal.Read<ushort>(_rest[2..]) & 0x3FFF);
            if (length < RtAttrSize || length > _rest.Length)
            {
                _rest = default;
                return false;
            }

            Current = new Attribute(type, _rest[RtAttrSize..length]);
            _rest = _rest[Math.Min(Align(length), _rest.Length)..];
            return true;
        }
    }
}
