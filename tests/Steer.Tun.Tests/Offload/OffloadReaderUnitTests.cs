using System.Buffers.Binary;
using Steer.Tun.Linux.Offload;
using static Steer.Tun.Tests.Offload.OffloadTestPackets;

namespace Steer.Tun.Tests.Offload;

public sealed class OffloadReaderUnitTests
{
    private readonly byte[] _destination = new byte[1_500 + 64];

    [Fact]
    public void Accept_PlainPacket_IsCopiedUnchanged()
    {
        var reader = new OffloadReader();
        byte[] packet = TestPackets.Ipv4EchoRequest(Source4, Destination4, 1, 2, "hello"u8);

        int length = reader.Accept(Load(reader, default, packet), _destination);

        Assert.Equal(packet, _destination.AsSpan(0, length).ToArray());
        Assert.False(reader.HasPending);
        Assert.Equal((1, 0, 0, 0L), (reader.Packets, reader.SuperPackets, reader.Segments, reader.Dropped));
    }

    [Fact]
    public void Accept_NeedsChecksum_CompletesTheTransportChecksum()
    {
        var reader = new OffloadReader();
        var spec = new Spec { PayloadLength = 999, Flags = Ack | Psh };
        byte[] packet = SuperPacket(spec); // one TCP packet whose checksum field holds the pseudo-header sum
        var header = new VirtioNetHeader { Flags = VirtioNetHeader.FlagNeedsChecksum, ChecksumStart = (ushort)spec.IpHeaderLength, ChecksumOffset = 16 };

        int length = reader.Accept(Load(reader, header, packet), _destination);

        Assert.Equal(packet.Length, length);
        Assert.True(TransportChecksumValid(_destination.AsSpan(0, length), spec.IpHeaderLength, 6));
        Assert.Equal(1, reader.ChecksumsCompleted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AcceptThenNext_SuperPacket_HandsOutEverySegmentThenReadsAgain(bool ipv6)
    {
        var reader = new OffloadReader();
        var spec = new Spec { IPv6 = ipv6, PayloadLength = 40_000, SegmentSize = ipv6 ? 1_340 : 1_360, Flags = Ack | Psh | Fin };
        byte[] packet = SuperPacket(spec);
        var segments = new List<byte[]>();

        int length = reader.Accept(Load(reader, GsoHeader(spec), packet), _destination);
        while (length >= 0)
        {
            Assert.True(length <= spec.HeaderLength + spec.SegmentSize, $"segment of {length} bytes");
            segments.Add(_destination.AsSpan(0, length).ToArray());
            length = reader.Next(_destination);
        }

        AssertSegments(spec, packet, segments);
        Assert.False(reader.HasPending);
        Assert.Equal(1, reader.SuperPackets);
        Assert.Equal(segments.Count, reader.Segments);
        Assert.Equal(packet.Length, reader.LargestSuperPacket);
        Assert.Equal(0, reader.Dropped);
    }

    [Fact]
    public void Accept_LargestPossibleRead_Fits()
    {
        var reader = new OffloadReader();
        var spec = new Spec { IPv6 = true, PayloadLength = OffloadReader.MaxPacket - 72, SegmentSize = 1_428 };
        byte[] packet = SuperPacket(spec);
        Assert.Equal(OffloadReader.MaxPacket, packet.Length);

        int first = reader.Accept(Load(reader, GsoHeader(spec), packet), _destination);

        Assert.Equal(spec.HeaderLength + 1_428, first);
    }

    [Fact]
    public void Accept_NewReadWhileSegmentsPending_StartsOver()
    {
        var reader = new OffloadReader();
        var spec = new Spec { PayloadLength = 10_000 };
        reader.Accept(Load(reader, GsoHeader(spec), SuperPacket(spec)), _destination);
        Assert.True(reader.HasPending);
        byte[] plain = TestPackets.Ipv4EchoRequest(Source4, Destination4, 1, 2, "x"u8);

        int length = reader.Accept(Load(reader, default, plain), _destination);

        Assert.Equal(plain.Length, length);
        Assert.False(reader.HasPending);
    }

    private static readonly Dictionary<string, (Func<OffloadReader, int> Load, OffloadDropReason Expected)> s_badReads = new()
    {
        { "shorter than the header", (r => 5, OffloadDropReason.Truncated) },
        { "header only", (r => VirtioNetHeader.Size, OffloadDropReason.Truncated) },
        { "zero", (r => 0, OffloadDropReason.Truncated) },
        { "longer than the buffer", (r => OffloadReader.BufferSize + 1, OffloadDropReason.Truncated) },
        { "csum_start out of range", (r => Load(r, new VirtioNetHeader { Flags = VirtioNetHeader.FlagNeedsChecksum, ChecksumStart = 200, ChecksumOffset = 6 }, new byte[100]), OffloadDropReason.ChecksumOutOfRange) },
        { "csum_offset past the end", (r => Load(r, new VirtioNetHeader { Flags = VirtioNetHeader.FlagNeedsChecksum, ChecksumStart = 20, ChecksumOffset = 79 }, new byte[100]), OffloadDropReason.ChecksumOutOfRange) },
        { "plain packet larger than the caller's buffer", (r => Load(r, default, new byte[3_000]), OffloadDropReason.BufferTooSmall) },
        { "UDP_L4 super-packet", (r => Load(r, GsoHeader(new Spec()) with { GsoType = VirtioNetHeader.GsoUdpL4 }, SuperPacket(new Spec())), OffloadDropReason.UnsupportedGsoType) },
        { "gso_size 0", (r => Load(r, GsoHeader(new Spec()) with { GsoSize = 0 }, SuperPacket(new Spec())), OffloadDropReason.BadGsoSize) },
        { "hdr_len beyond packet (TCP data offset 15 in a 60-byte packet)", (r => Load(r, GsoHeader(new Spec()) with { HeaderLength = 5_000 }, DataOffset15(SuperPacket(new Spec())[..60])), OffloadDropReason.MalformedHeaders) },
        { "segments larger than the caller's buffer", (r => Load(r, GsoHeader(new Spec()) with { GsoSize = 9_000 }, SuperPacket(new Spec())), OffloadDropReason.BufferTooSmall) },
    };

    public static TheoryData<string> BadReads() => new(s_badReads.Keys);

    [Theory]
    [MemberData(nameof(BadReads))]
    public void Accept_BadRead_IsDroppedCountedAndTheNextReadWorks(string name)
    {
        (Func<OffloadReader, int> load, OffloadDropReason expected) = s_badReads[name];
        var reader = new OffloadReader();

        int length = reader.Accept(load(reader), _destination);

        Assert.True(length == -1, $"{name}: returned {length}");
        Assert.Equal(expected, reader.LastDropReason);
        Assert.Equal(1, reader.Dropped);
        Assert.Equal(expected == OffloadDropReason.UnsupportedGsoType ? 1 : 0, reader.DroppedUnsupportedGso);
        Assert.False(reader.HasPending);
        Assert.Equal(-1, reader.Next(_destination));

        var spec = new Spec { PayloadLength = 3_000 };
        Assert.Equal(spec.HeaderLength + spec.SegmentSize, reader.Accept(Load(reader, GsoHeader(spec), SuperPacket(spec)), _destination));
    }

    [Fact]
    public void Next_DestinationShrinks_DropsTheRestOfTheSuperPacket()
    {
        var reader = new OffloadReader();
        var spec = new Spec { PayloadLength = 10_000 };
        Assert.True(reader.Accept(Load(reader, GsoHeader(spec), SuperPacket(spec)), _destination) > 0);

        Assert.Equal(-1, reader.Next(new byte[100]));

        Assert.False(reader.HasPending);
        Assert.Equal(OffloadDropReason.BufferTooSmall, reader.LastDropReason);
    }

    [Fact]
    public void Fuzz_RandomHeadersAndBytes_NeverThrowAndEverySegmentVerifies()
    {
        var random = new Random(20_261_125);
        var reader = new OffloadReader();
        byte[] destination = new byte[1_464];
        int segmentsChecked = 0;
        for (int iteration = 0; iteration < 20_000; iteration++)
        {
            Span<byte> buffer = reader.ReceiveBuffer.Span;
            int packetLength = random.Next(0, iteration % 10 == 0 ? 66_000 : 3_000);
            int received = Math.Min(VirtioNetHeader.Size + packetLength, buffer.Length + random.Next(0, 2));
            bool plausible = random.Next(2) == 0;
            if (plausible)
            {
                // Start from a valid super-packet and damage a few bytes, so the checks deep inside are reached.
                var spec = new Spec { IPv6 = random.Next(2) == 0, PayloadLength = random.Next(1, 5_000), SegmentSize = random.Next(1, 1_400), Seed = iteration };
                byte[] packet = SuperPacket(spec);
                for (int d = random.Next(0, 3); d > 0; d--)
                {
                    packet[random.Next(packet.Length)] = (byte)random.Next(256);
                }

                VirtioNetHeader header = GsoHeader(spec);
                header.GsoSize = (ushort)(random.Next(4) == 0 ? random.Next(0, 0x10000) : header.GsoSize);
                header.ChecksumStart = (ushort)(random.Next(4) == 0 ? random.Next(0, 0x10000) : header.ChecksumStart);
                received = Load(reader, header, packet);
            }
            else
            {
                random.NextBytes(buffer[..Math.Min(received, buffer.Length)]);
                buffer[1] = (byte)random.Next(0, 7); // mostly known GSO types
            }

            int length;
            try
            {
                long superPackets = reader.SuperPackets;
                length = reader.Accept(received, destination);
                bool split = reader.SuperPackets > superPackets;
                while (length >= 0)
                {
                    Assert.InRange(length, 1, destination.Length);
                    if (split && IsTcp(destination.AsSpan(0, length), out int transport))
                    {
                        Assert.True(TransportChecksumValid(destination.AsSpan(0, length), transport, 6), $"iteration {iteration}: bad TCP checksum");
                        segmentsChecked++;
                    }

                    length = reader.Next(destination);
                }
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {iteration} threw: {e}");
            }
        }

        Assert.True(reader.SuperPackets > 1_000, $"only {reader.SuperPackets} super-packets were accepted");
        Assert.True(reader.Dropped > 1_000, $"only {reader.Dropped} reads were dropped");
        Assert.True(segmentsChecked > 1_000);
    }

    [Fact]
    public void AcceptAndNext_SteadyState_AllocateNothing()
    {
        var reader = new OffloadReader();
        var spec = new Spec { PayloadLength = 60_000 };
        byte[] read = Read(GsoHeader(spec), SuperPacket(spec));
        byte[] plain = Read(default, TestPackets.Ipv4EchoRequest(Source4, Destination4, 1, 2, "x"u8));
        Run(10);

        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(100);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated == 0, $"{allocated} bytes allocated");

        void Run(int rounds)
        {
            for (int i = 0; i < rounds; i++)
            {
                read.CopyTo(reader.ReceiveBuffer.Span);
                for (int length = reader.Accept(read.Length, _destination); length >= 0; length = reader.Next(_destination))
                {
                }

                plain.CopyTo(reader.ReceiveBuffer.Span);
                reader.Accept(plain.Length, _destination);
            }
        }
    }

    /// <summary>Puts header + packet into the reader's buffer as a device read would; returns the read's length.</summary>
    private static int Load(OffloadReader reader, VirtioNetHeader header, ReadOnlySpan<byte> packet)
    {
        Span<byte> buffer = reader.ReceiveBuffer.Span;
        header.Write(buffer);
        packet.CopyTo(buffer[VirtioNetHeader.Size..]);
        return VirtioNetHeader.Size + packet.Length;
    }

    private static byte[] DataOffset15(byte[] packet)
    {
        packet[20 + 12] = 0xF0;
        return packet;
    }

    private static bool IsTcp(ReadOnlySpan<byte> packet, out int transport)
    {
        transport = 0;
        if (packet.Length >= 40 && packet[0] == 0x45 && packet[9] == 6 && BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) == packet.Length)
        {
            transport = 20;
            return true;
        }

        if (packet.Length >= 60 && packet[0] >> 4 == 6 && packet[6] == 6 && BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) == packet.Length - 40)
        {
            transport = 40;
            return true;
        }

        return false;
    }
}
