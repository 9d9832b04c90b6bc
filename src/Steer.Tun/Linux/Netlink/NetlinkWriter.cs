using System.Net;
using System.Runtime.InteropServices;

namespace Steer.Tun.Linux.Netlink;

/// <summary>
/// Builds one netlink message in a caller-supplied buffer: an <c>nlmsghdr</c>, a fixed family header and
/// <c>rtattr</c>s, each padded to 4 bytes (NLMSG_ALIGN / RTA_ALIGN). Integers are in host byte order, as netlink
/// expects; addresses are in network byte order.
/// </summary>
internal ref struct NetlinkWriter
{
    private readonly Span<byte> _buffer;
    private int _length;

    /// <summary>Starts a message with the given header fields; the length is filled in by <see cref="Finish"/>.</summary>
    public NetlinkWriter(Span<byte> buffer, ushort type, ushort flags, uint sequence)
    {
        _buffer = buffer;
        _buffer.Clear();
        _length = RtNetlink.NlMsgHdrSize;
        MemoryMarshal.Write(_buffer[4..], in type);
        MemoryMarshal.Write(_buffer[6..], in flags);
        MemoryMarshal.Write(_buffer[8..], in sequence);
        // nlmsg_pid (offset 12) stays 0: the kernel fills in the sender's port id.
    }

    /// <summary>Appends a byte (part of a family header).</summary>
    public void WriteByte(byte value) => _buffer[_length++] = value;

    /// <summary>Appends a 16-bit host-order value (part of a family header).</summary>
    public void WriteUInt16(ushort value)
    {
        MemoryMarshal.Write(_buffer[_length..], in value);
        _length += 2;
    }

    /// <summary>Appends a 32-bit host-order value (part of a family header).</summary>
    public void WriteUInt32(uint value)
    {
        MemoryMarshal.Write(_buffer[_length..], in value);
        _length += 4;
    }

    /// <summary>Appends an attribute with a 32-bit host-order payload.</summary>
    public void AttributeUInt32(ushort type, uint value)
    {
        Span<byte> payload = stackalloc byte[4];
        MemoryMarshal.Write(payload, in value);
        Attribute(type, payload);
    }

    /// <summary>Appends an attribute holding an IP address in network byte order (4 or 16 bytes).</summary>
    public void AttributeAddress(ushort type, IPAddress address)
    {
        Span<byte> payload = stackalloc byte[16];
        address.TryWriteBytes(payload, out int written);
        Attribute(type, payload[..written]);
    }

    /// <summary>Appends an attribute: <c>rta_len</c> (header + payload, unpadded), <c>rta_type</c>, payload, padding.</summary>
    public void Attribute(ushort type, scoped ReadOnlySpan<byte> payload)
    {
        ushort length = (ushort)(RtNetlink.RtAttrSize + payload.Length);
        MemoryMarshal.Write(_buffer[_length..], in length);
        MemoryMarshal.Write(_buffer[(_length + 2)..], in type);
        payload.CopyTo(_buffer[(_length + RtNetlink.RtAttrSize)..]);
        _length += RtNetlink.Align(length); // The buffer was cleared, so the padding is zero.
    }

    /// <summary>Writes <c>nlmsg_len</c> and returns the message's length in bytes.</summary>
    public readonly int Finish()
    {
        uint length = (uint)_length;
        MemoryMarshal.Write(_buffer, in length);
        return _length;
    }
}
