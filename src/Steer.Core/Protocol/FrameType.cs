namespace Steer.Protocol;

/// <summary>Frame types of tunnel protocol v1 (see docs/protocol.md).</summary>
internal enum FrameType : byte
{
    /// <summary>Client → gateway, first frame: protocol version byte + JSON <see cref="ClientHello"/>.</summary>
    Hello = 0x01,

    /// <summary>Gateway → client, answer to Hello: protocol version byte + JSON <see cref="ServerWelcome"/>.</summary>
    Welcome = 0x02,

    /// <summary>Either direction: JSON <see cref="ErrorMessage"/>; the sender closes the connection after it.</summary>
    Error = 0x03,

    /// <summary>Either direction: exactly one IPv4 or IPv6 packet.</summary>
    Data = 0x10,

    /// <summary>Either direction: 8-byte opaque value that the peer echoes in <see cref="KeepaliveAck"/>.</summary>
    Keepalive = 0x11,

    /// <summary>Answer to <see cref="Keepalive"/>, echoing its payload.</summary>
    KeepaliveAck = 0x12,

    /// <summary>Either direction: orderly close; payload is an optional UTF-8 reason.</summary>
    Close = 0x13,
}
