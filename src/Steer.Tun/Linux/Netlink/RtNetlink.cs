using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Steer.Tun.Linux.Netlink;

/// <summary>
/// Encoding and decoding of the rtnetlink messages Steer uses, as pure functions over spans so that unit tests can
/// check the bytes. Layouts and constants are those of <c>linux/netlink.h</c>, <c>linux/rtnetlink.h</c>,
/// <c>linux/if_link.h</c>, <c>linux/if_addr.h</c> and <c>linux/fib_rules.h</c>.
/// </summary>
internal static class RtNetlink
{
    // struct sizes
    internal const int NlMsgHdrSize = 16;   // u32 len, u16 type, u16 flags, u32 seq, u32 pid
    internal const int IfInfoMsgSize = 16;  // u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change
    internal const int IfAddrMsgSize = 8;   // u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index
    internal const int RtMsgSize = 12;      // u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags
    internal const int FibRuleHdrSize = 12; // u8 family, dst_len, src_len, tos, table, res1, res2, action; u32 flags
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
    internal const ushort RTM_NEWRULE = 32;
    internal const ushort RTM_DELRULE = 33;

    // nlmsg_flags
    internal const ushort NLM_F_REQUEST = 0x1;
    internal const ushort NLM_F_ACK = 0x4;
    internal const ushort NLM_F_ROOT = 0x100;
    internal const ushort NLM_F_MATCH = 0x200;
    internal const ushort NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
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
    internal const byte RTN_BLACKHOLE = 6;
    internal const byte RTN_UNREACHABLE = 7;
    internal const byte RTN_PROHIBIT = 8;
    internal const byte RTN_THROW = 9;
    internal const byte RT_TABLE_UNSPEC = 0;
    internal const uint RTM_F_LOOKUP_TABLE = 0x1000;

    // policy rules (linux/fib_rules.h)
    internal const ushort FRA_DST = 1;
    internal const ushort FRA_PRIORITY = 6;
    internal const ushort FRA_FWMARK = 10;
    internal const ushort FRA_SUPPRESS_PREFIXLEN = 14;
    internal const ushort FRA_TABLE = 15;
    internal const ushort FRA_FWMASK = 16;
    internal const ushort FRA_IP_PROTO = 22;
    internal const ushort FRA_DPORT_RANGE = 24;
    internal const byte FR_ACT_TO_TBL = 1;
    internal const uint FIB_RULE_INVERT = 0x2;

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
    /// route), RTA_OIF (if there is an interface), RTA_GATEWAY (if any), RTA_PRIORITY (if not 0), RTA_TABLE. An added
    /// unicast route without a gateway has scope link; throw, blackhole and unreachable routes have scope universe and
    /// their own rtm_type. A deletion uses scope nowhere and no protocol, so that it matches any of them, and no type
    /// for a unicast route.
    /// </summary>
    internal static int EncodeRoute(Span<byte> buffer, uint sequence, bool add, RouteEntry route)
    {
        bool v4 = route.Destination.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        ushort flags = add ? (ushort)(RequestAck | NLM_F_CREATE | NLM_F_REPLACE) : RequestAck;
        bool unicast = route.Type == RouteType.Unicast;
        byte scope = !add ? RT_SCOPE_NOWHERE : unicast && route.Gateway is null ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        var w = new NetlinkWriter(buffer, add ? RTM_NEWROUTE : RTM_DELROUTE, flags, sequence);
        w.WriteByte(v4 ? AF_INET : AF_INET6);                      // rtm_family
        w.WriteByte((byte)route.Destination.PrefixLength);         // rtm_dst_len
        w.WriteByte(0);                                            // rtm_src_len
        w.WriteByte(0);                                            // rtm_tos
        w.WriteByte(route.Table is > 0 and < 256 ? (byte)route.Table : RT_TABLE_UNSPEC); // rtm_table
        w.WriteByte(add ? RTPROT_STATIC : RTPROT_UNSPEC);          // rtm_protocol
        w.WriteByte(scope);                                        // rtm_scope
        w.WriteByte(add || !unicast ? ToKernelType(route.Type) : RTN_UNSPEC); // rtm_type
        w.WriteUInt32(0);                                          // rtm_flags
        if (route.Destination.PrefixLength > 0)
        {
            w.AttributeAddress(RTA_DST, route.Destination.BaseAddress);
        }

        if (route.InterfaceIndex > 0)
        {
            w.AttributeUInt32(RTA_OIF, (uint)route.InterfaceIndex);
        }

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

    /// <summary>The rtm_type of a <see cref="RouteType"/>.</summary>
    internal static byte ToKernelType(RouteType type) => type switch
    {
        RouteType.Unicast => RTN_UNICAST,
        RouteType.Throw => RTN_THROW,
        RouteType.Blackhole => RTN_BLACKHOLE,
        RouteType.Unreachable => RTN_UNREACHABLE,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown route type."),
    };

    /// <summary>
    /// RTM_NEWRULE (create, fail with EEXIST if an identical rule exists) or RTM_DELRULE, laid out as
    /// <c>ip rule add|del [not] pref P [to PREFIX] [fwmark M/0xffffffff] [ipproto N] [dport A-B]
    /// [suppress_prefixlength L] table T</c> sends it: a fib_rule_hdr (action FR_ACT_TO_TBL, FIB_RULE_INVERT for
    /// "not", the table when below 256, else RT_TABLE_UNSPEC), then FRA_PRIORITY, FRA_DST, FRA_FWMARK + FRA_FWMASK,
    /// FRA_IP_PROTO (u8), FRA_DPORT_RANGE (two host-order u16), FRA_SUPPRESS_PREFIXLEN and, for a table of 256 or
    /// more, FRA_TABLE.
    /// </summary>
    internal static int EncodeRule(Span<byte> buffer, uint sequence, bool add, RoutingRule rule)
    {
        bool v4 = rule.Family == AddressFamily.InterNetwork;
        ushort flags = add ? (ushort)(RequestAck | NLM_F_CREATE | NLM_F_EXCL) : RequestAck;
        var w = new NetlinkWriter(buffer, add ? RTM_NEWRULE : RTM_DELRULE, flags, sequence);
        w.WriteByte(v4 ? AF_INET : AF_INET6);                                // family
        w.WriteByte((byte)(rule.Destination?.PrefixLength ?? 0));             // dst_len
        w.WriteByte(0);                                                      // src_len
        w.WriteByte(0);                                                      // tos
        w.WriteByte(rule.Table is > 0 and < 256 ? (byte)rule.Table : RT_TABLE_UNSPEC); // table
        w.WriteByte(0);                                                      // res1
        w.WriteByte(0);                                                      // res2
        w.WriteByte(FR_ACT_TO_TBL);                                          // action
        w.WriteUInt32(rule.Invert ? FIB_RULE_INVERT : 0);                    // flags
        w.AttributeUInt32(FRA_PRIORITY, (uint)rule.Priority);
        if (rule.Destination is { } destination)
        {
            w.AttributeAddress(FRA_DST, destination.BaseAddress);
        }

        if (rule.FirewallMark is { } mark)
        {
            w.AttributeUInt32(FRA_FWMARK, mark);
            w.AttributeUInt32(FRA_FWMASK, uint.MaxValue);
        }

        if (rule.IpProtocol is { } protocol)
        {
            w.Attribute(FRA_IP_PROTO, [(byte)protocol]);
        }

        if (rule.DestinationPorts is { } ports)
        {
            Span<byte> range = stackalloc byte[4]; // struct fib_rule_port_range { __u16 start; __u16 end; }, host order
            MemoryMarshal.Write(range, in ports.First);
            MemoryMarshal.Write(range[2..], in ports.Last);
            w.Attribute(FRA_DPORT_RANGE, range);
        }

        if (rule.SuppressPrefixLength is { } suppress)
        {
            w.AttributeUInt32(FRA_SUPPRESS_PREFIXLEN, (uint)suppress);
        }

        if (rule.Table >= 256)
        {
            w.AttributeUInt32(FRA_TABLE, (uint)rule.Table);
        }

        return w.Finish();
    }

    /// <summary>RTM_GETROUTE with NLM_F_DUMP for every route of a family (<c>ip route show table all</c>); answered by RTM_NEWROUTE messages and NLMSG_DONE.</summary>
    internal static int EncodeDumpRoutes(Span<byte> buffer, uint sequence, AddressFamily family)
    {
        var w = new NetlinkWriter(buffer, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, sequence);
        w.WriteByte(family == AddressFamily.InterNetwork ? AF_INET : AF_INET6);
        for (int i = 0; i < RtMsgSize - 1; i++)
        {
            w.WriteByte(0);
        }

        return w.Finish();
    }

    /// <summary>
    /// Turns one RTM_NEWROUTE message of a dump into the RTM_DELROUTE that deletes exactly that route (the same
    /// header and attributes, as <c>ip route flush</c> does), in place.
    /// </summary>
    internal static void MakeDeleteFromDump(Span<byte> message, uint sequence)
    {
        ushort type = RTM_DELROUTE;
        ushort flags = RequestAck;
        uint pid = 0;
        MemoryMarshal.Write(message[4..], in type);
        MemoryMarshal.Write(message[6..], in flags);
        MemoryMarshal.Write(message[8..], in sequence);
        MemoryMarshal.Write(message[12..], in pid);
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
    /// RTA_DST/rtm_dst_len, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY and RTA_TABLE (falling back to rtm_table); throw,
    /// blackhole and unreachable routes get their <see cref="RouteType"/> and no interface.
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
        RouteType? kind = routeType switch
        {
            RTN_THROW => RouteType.Throw,
            RTN_BLACKHOLE => RouteType.Blackhole,
            RTN_UNREACHABLE => RouteType.Unreachable,
            _ => null,
        };
        return kind is { } withoutInterface
            ? RouteEntry.WithoutInterface(withoutInterface, network, table, metric) // the kernel shows IPv6 ones on lo: no interface here
            : new RouteEntry(network, oif, gateway, table, metric);
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
