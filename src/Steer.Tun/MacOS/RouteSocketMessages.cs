using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Steer.Tun.MacOS.Interop.RouteConstants;
using static Steer.Tun.MacOS.Interop.SocketConstants;

namespace Steer.Tun.MacOS;

/// <summary>
/// Encodes PF_ROUTE requests and decodes RTM_GET answers as pure functions over spans, so that the byte layout can be
/// unit-tested on any OS. A message is an <see cref="Interop.rt_msghdr"/> followed by the socket addresses named in
/// <c>rtm_addrs</c>, in bit order (DST, GATEWAY, NETMASK, GENMASK, IFP, IFA, ...), each padded with the ROUNDUP32 rule
/// of XNU's <c>rtsock.c</c> (lengths rounded up to a multiple of 4; an empty address still takes 4 bytes). macOS
/// aligns to 4 bytes even on 64-bit, unlike FreeBSD's <c>sizeof(long)</c>.
/// </summary>
internal static class RouteSocketMessages
{
    /// <summary>sizeof(struct rt_msghdr) on macOS.</summary>
    internal const int HeaderLength = 92;

    /// <summary>sizeof(struct sockaddr_in).</summary>
    internal const int SockaddrInLength = 16;

    /// <summary>sizeof(struct sockaddr_in6).</summary>
    internal const int SockaddrIn6Length = 28;

    /// <summary>sizeof(struct sockaddr_dl).</summary>
    internal const int SockaddrDlLength = 20;

    /// <summary>A buffer this long holds any request encoded here.</summary>
    internal const int MaxRequestLength = HeaderLength + (3 * SockaddrIn6Length);

    /// <summary>XNU's ROUNDUP32: the space a socket address of <paramref name="length"/> bytes takes in a message.</summary>
    internal static int RoundUp(int length) => length > 0 ? 1 + ((length - 1) | (sizeof(uint) - 1)) : sizeof(uint);

    /// <summary>
    /// Encodes RTM_ADD or RTM_DELETE for a route to <paramref name="destination"/>: via <paramref name="gateway"/>, or,
    /// when it is null, on-link through the interface, named by a <c>sockaddr_dl</c> gateway carrying its index
    /// (what <c>route add -interface</c> sends). Host prefixes get RTF_HOST and no netmask.
    /// </summary>
    /// <returns>The message length.</returns>
    internal static int EncodeChange(Span<byte> buffer, byte type, int sequence, IPNetwork destination, int interfaceIndex, IPAddress? gateway)
    {
        if (type is not (RTM_ADD or RTM_DELETE))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Only RTM_ADD and RTM_DELETE are encoded here.");
        }

        AddressFamily family = destination.BaseAddress.AddressFamily;
        bool host = destination.PrefixLength == (family == AddressFamily.InterNetwork ? 32 : 128);
        int flags = RTF_UP | RTF_STATIC | (gateway is null ? 0 : RTF_GATEWAY) | (host ? RTF_HOST : 0);
        int addresses = RTA_DST | RTA_GATEWAY | (host ? 0 : RTA_NETMASK);

        int offset = HeaderLength;
        offset += WriteAddress(buffer[offset..], destination.BaseAddress);
        offset += gateway is null ? WriteLink(buffer[offset..], interfaceIndex) : WriteAddress(buffer[offset..], gateway);
        if (!host)
        {
            offset += WriteNetmask(buffer[offset..], family, destination.PrefixLength);
        }

        WriteHeader(buffer, offset, type, flags, addresses, sequence);
        return offset;
    }

    /// <summary>
    /// Encodes RTM_GET for <paramref name="destination"/> with an empty AF_LINK RTA_IFP, which asks the kernel to name
    /// the outgoing interface in the answer (as <c>route get</c> does).
    /// </summary>
    /// <returns>The message length.</returns>
    internal static int EncodeGet(Span<byte> buffer, int sequence, IPAddress destination)
    {
        int offset = HeaderLength;
        offset += WriteAddress(buffer[offset..], destination);
        offset += WriteLink(buffer[offset..], 0);
        WriteHeader(buffer, offset, RTM_GET, RTF_UP | RTF_HOST, RTA_DST | RTA_IFP, sequence);
        return offset;
    }

    /// <summary>
    /// Decodes the answer to an RTM_GET. Returns false for any other message (another type, process or sequence
    /// number), which the caller skips.
    /// </summary>
    /// <param name="message">One message as read from the routing socket.</param>
    /// <param name="processId">This process's id; the kernel stamps it into the answer.</param>
    /// <param name="sequence">The sequence number of the request.</param>
    /// <param name="reply">The decoded answer.</param>
    internal static bool TryParseGetReply(ReadOnlySpan<byte> message, int processId, int sequence, out RouteReply reply)
    {
        reply = default;
        if (message.Length < HeaderLength)
        {
            return false;
        }

        Interop.rt_msghdr header = MemoryMarshal.Read<Interop.rt_msghdr>(message);
        if (header.rtm_version != RTM_VERSION || header.rtm_type != RTM_GET || header.rtm_pid != processId
            || header.rtm_seq != sequence || header.rtm_msglen < HeaderLength || header.rtm_msglen > message.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> addresses = message[HeaderLength..header.rtm_msglen];
        IPAddress? gateway = null;
        int linkIndex = 0;
        int offset = 0;
        for (int slot = 0; slot < RTAX_MAX && offset < addresses.Length; slot++)
        {
            if ((header.rtm_addrs & (1 << slot)) == 0)
            {
                continue;
            }

            int length = addresses[offset];
            ReadOnlySpan<byte> address = addresses.Slice(offset, Math.Min(Math.Max(length, 2), addresses.Length - offset));
            if (slot == 1 && address.Length >= 2)
            {
                gateway = ReadAddress(address);
            }
            else if (slot == 4 && address.Length >= 4 && address[1] == AF_LINK)
            {
                linkIndex = BitConverter.ToUInt16(address[2..4]);
            }

            offset += RoundUp(length);
        }

        if ((header.rtm_flags & RTF_GATEWAY) == 0)
        {
            gateway = null; // an on-link route's "gateway" is the interface's link address
        }

        int index = header.rtm_index != 0 ? header.rtm_index : linkIndex;
        reply = new RouteReply(header.rtm_flags, index, gateway, header.rtm_errno);
        return true;
    }

    /// <summary>Writes a <c>sockaddr_in</c> or <c>sockaddr_in6</c>; returns its padded length.</summary>
    /// <remarks>
    /// A scoped IPv6 link-local address gets its scope embedded KAME-style in bytes 2–3 of the address (big-endian)
    /// and <c>sin6_scope_id</c> 0, as <c>route(8)</c> sends it.
    /// </remarks>
    internal static int WriteAddress(Span<byte> buffer, IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> sin = buffer[..SockaddrInLength];
            sin.Clear();
            sin[0] = SockaddrInLength;
            sin[1] = AF_INET;
            address.TryWriteBytes(sin[4..8], out _);
            return RoundUp(SockaddrInLength);
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"{address} is not an IPv4 or IPv6 address.", nameof(address));
        }

        Span<byte> sin6 = buffer[..SockaddrIn6Length];
        sin6.Clear();
        sin6[0] = SockaddrIn6Length;
        sin6[1] = AF_INET6;
        address.TryWriteBytes(sin6[8..24], out _);
        if ((address.IsIPv6LinkLocal || address.IsIPv6Multicast) && address.ScopeId is > 0 and <= ushort.MaxValue)
        {
            BinaryPrimitives.WriteUInt16BigEndian(sin6[10..12], (ushort)address.ScopeId);
        }

        return RoundUp(SockaddrIn6Length);
    }

    /// <summary>Writes a netmask as a full-length <c>sockaddr_in</c>/<c>sockaddr_in6</c>; returns its padded length.</summary>
    internal static int WriteNetmask(Span<byte> buffer, AddressFamily family, int prefixLength)
    {
        Span<byte> mask = stackalloc byte[16];
        int bytes = family == AddressFamily.InterNetwork ? 4 : 16;
        for (int i = 0; i < bytes; i++)
        {
            int bits = Math.Clamp(prefixLength - (i * 8), 0, 8);
            mask[i] = (byte)(0xFF << (8 - bits));
        }

        return WriteAddress(buffer, new IPAddress(mask[..bytes]));
    }

    /// <summary>Writes a <c>sockaddr_dl</c> that names interface <paramref name="interfaceIndex"/>; returns its padded length.</summary>
    internal static int WriteLink(Span<byte> buffer, int interfaceIndex)
    {
        Span<byte> sdl = buffer[..SockaddrDlLength];
        sdl.Clear();
        sdl[0] = SockaddrDlLength;
        sdl[1] = AF_LINK;
        ushort index = checked((ushort)interfaceIndex);
        MemoryMarshal.Write(sdl[2..4], in index);
        return RoundUp(SockaddrDlLength);
    }

    /// <summary>Reads an IPv4 or IPv6 socket address (undoing KAME scope embedding); null for other families.</summary>
    internal static IPAddress? ReadAddress(ReadOnlySpan<byte> sockaddr)
    {
        int length = sockaddr[0];
        byte family = sockaddr[1];
        if (family == AF_INET && length >= 8 && sockaddr.Length >= 8)
        {
            return new IPAddress(sockaddr[4..8]);
        }

        if (family == AF_INET6 && length >= 24 && sockaddr.Length >= 24)
        {
            Span<byte> bytes = stackalloc byte[16];
            sockaddr[8..24].CopyTo(bytes);
            long scope = length >= SockaddrIn6Length && sockaddr.Length >= SockaddrIn6Length
                ? MemoryMarshal.Read<uint>(sockaddr[24..28])
                : 0;
            bool linkLocal = bytes[0] == 0xFE && (bytes[1] & 0xC0) == 0x80;
            bool linkLocalMulticast = bytes[0] == 0xFF && (bytes[1] & 0x0F) == 0x02;
            if (linkLocal || linkLocalMulticast)
            {
                ushort embedded = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..4]);
                if (embedded != 0)
                {
                    scope = embedded;
                    bytes[2] = 0;
                    bytes[3] = 0;
                }
            }

            return new IPAddress(bytes, scope);
        }

        return null;
    }

    private static void WriteHeader(Span<byte> buffer, int length, byte type, int flags, int addresses, int sequence)
    {
        var header = new Interop.rt_msghdr
        {
            rtm_msglen = checked((ushort)length),
            rtm_version = RTM_VERSION,
            rtm_type = type,
            rtm_flags = flags,
            rtm_addrs = addresses,
            rtm_seq = sequence,
        };
        MemoryMarshal.Write(buffer, in header);
    }
}

/// <summary>The decoded answer to an RTM_GET.</summary>
/// <param name="Flags">RTF_* flags of the route.</param>
/// <param name="InterfaceIndex">Outgoing interface index (0 when the kernel named none).</param>
/// <param name="Gateway">Next hop of a gateway route; null for an on-link route.</param>
/// <param name="Error">rtm_errno (0 on success).</param>
internal readonly record struct RouteReply(int Flags, int InterfaceIndex, IPAddress? Gateway, int Error);
