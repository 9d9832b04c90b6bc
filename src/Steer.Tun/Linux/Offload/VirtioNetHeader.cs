using System.Runtime.InteropServices;

namespace Steer.Tun.Linux.Offload;

/// <summary>
/// <c>struct virtio_net_hdr</c> (<c>linux/virtio_net.h</c>, 10 bytes): what a TUN opened with IFF_VNET_HDR puts in
/// front of every packet it reads, and expects in front of every packet written to it.
/// </summary>
/// <remarks>
/// The 16-bit fields are in the host's byte order: a TUN device uses the legacy virtio layout, which is native-endian
/// unless TUNSETVNETLE/BE says otherwise (Steer never sets either), and every target Steer builds for is little-endian.
/// <list type="bullet">
/// <item><see cref="Flags"/>: <see cref="FlagNeedsChecksum"/> means the transport checksum is only partial: the field at
/// <see cref="ChecksumStart"/> + <see cref="ChecksumOffset"/> holds the pseudo-header sum and the reader must complete it.</item>
/// <item><see cref="GsoType"/>: <see cref="GsoNone"/> for one packet; <see cref="GsoTcpV4"/> / <see cref="GsoTcpV6"/> for a
/// TCP super-packet to be cut into segments of <see cref="GsoSize"/> payload bytes each.</item>
/// <item><see cref="HeaderLength"/>: the length of the headers (unreliable on the forwarding path, so the segmenter
/// recomputes it from the TCP data offset).</item>
/// </list>
/// </remarks>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct VirtioNetHeader
{
    /// <summary>sizeof(struct virtio_net_hdr): the value set with TUNSETVNETHDRSZ.</summary>
    public const int Size = 10;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM.</summary>
    public const byte FlagNeedsChecksum = 1;

    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID.</summary>
    public const byte FlagDataValid = 2;

    /// <summary>VIRTIO_NET_HDR_GSO_NONE.</summary>
    public const byte GsoNone = 0;

    /// <summary>VIRTIO_NET_HDR_GSO_TCPV4.</summary>
    public const byte GsoTcpV4 = 1;

    /// <summary>VIRTIO_NET_HDR_GSO_UDP (UFO, fragmenting; never negotiated here).</summary>
    public const byte GsoUdp = 3;

    /// <summary>VIRTIO_NET_HDR_GSO_TCPV6.</summary>
    public const byte GsoTcpV6 = 4;

    /// <summary>VIRTIO_NET_HDR_GSO_UDP_L4 (USO; only with TUN_F_USO4/6, which Steer does not set).</summary>
    public const byte GsoUdpL4 = 5;

    /// <summary>VIRTIO_NET_HDR_GSO_ECN: a flag on the GSO type (the super-packet carries CWR).</summary>
    public const byte GsoEcn = 0x80;

    /// <summary>flags.</summary>
    public byte Flags;

    /// <summary>gso_type.</summary>
    public byte GsoType;

    /// <summary>hdr_len.</summary>
    public ushort HeaderLength;

    /// <summary>gso_size: payload bytes per segment.</summary>
    public ushort GsoSize;

    /// <summary>csum_start: offset of the transport header.</summary>
    public ushort ChecksumStart;

    /// <summary>csum_offset: offset of the checksum field from <see cref="ChecksumStart"/>.</summary>
    public ushort ChecksumOffset;

    /// <summary>Reads a header from the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static VirtioNetHeader Read(ReadOnlySpan<byte> source) => MemoryMarshal.Read<VirtioNetHeader>(source[..Size]);

    /// <summary>Writes this header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public readonly void Write(Span<byte> destination)
    {
        VirtioNetHeader copy = this;
        MemoryMarshal.Write(destination[..Size], in copy);
    }
}
