using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Steer.Tun.Linux;
using static Steer.Tun.Tests.Offload.OffloadTestPackets;

namespace Steer.Tun.Tests.Offload;

/// <summary>
/// A real TUN with offloads in a network namespace of its own: a TCP connection from inside the namespace to an
/// address routed into the TUN, with the test playing the remote end on the TUN (SYN-ACK, then an ACK per segment).
/// The kernel's TCP sends TSO super-packets into the TUN; the device must hand out only valid MTU-sized segments
/// (checked with the reference checksum) whose payloads add up to exactly what the socket sent. Also the fallbacks:
/// offloads off, and offloads refused by the kernel.
/// </summary>
[Trait("Category", "RequiresElevation")]
[SupportedOSPlatform("linux")] // every test skips first when not on Linux
public sealed class LinuxTunOffloadElevatedTests
{
    private const int Mtu = 1400;
    private const int Port = 5201;
    private const int TransferBytes = 4 * 1024 * 1024;

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Offload_TcpBulkFromNamespace_SuperPacketsAreSplitIntoValidSegments(bool ipv6)
    {
        Elevation.RequireTun();
        Elevation.RequireNetworkNamespaces();
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        var device = (LinuxTunDevice)ns.Run(() => TunDevice.Create(new TunDeviceOptions { Name = HostCommands.UniqueInterfaceName(), Mtu = Mtu }));
        await using (device)
        {
            Assert.True(device.OffloadEnabled, device.OffloadFallbackReason);
            Assert.Null(device.OffloadFallbackReason);

            TransferResult result = await TransferAsync(ns, device, ipv6);

            TestContext.Current.TestOutputHelper?.WriteLine(
                $"{device.Offload!.Packets} reads, {device.Offload.SuperPackets} super-packets (largest {device.Offload.LargestSuperPacket} bytes), " +
                $"{device.Offload.Segments} segments, {device.Offload.ChecksumsCompleted} checksums completed; {result.Segments} data segments");
            Assert.Equal(TransferBytes, result.Bytes);
            Assert.True(result.LargestRead <= Mtu, $"a read returned {result.LargestRead} bytes, more than the MTU");
            Assert.True(device.Offload!.SuperPackets > 0, "the kernel handed the TUN no super-packet");
            Assert.True(device.Offload.LargestSuperPacket > Mtu, $"largest super-packet {device.Offload.LargestSuperPacket} bytes");
            Assert.True(device.Offload.Segments > device.Offload.SuperPackets);
            Assert.Equal(0, device.Offload.Dropped);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Fallback_OffloadOff_OnePacketPerReadAndTheTransferWorks()
    {
        Elevation.RequireTun();
        Elevation.RequireNetworkNamespaces();
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        var options = new TunDeviceOptions { Name = HostCommands.UniqueInterfaceName(), Mtu = Mtu, Offload = false };
        var device = (LinuxTunDevice)ns.Run(() => TunDevice.Create(options));
        await using (device)
        {
            Assert.False(device.OffloadEnabled);
            Assert.Null(device.Offload);
            Assert.Null(device.OffloadFallbackReason);

            TransferResult result = await TransferAsync(ns, device, ipv6: false);

            Assert.Equal(TransferBytes, result.Bytes);
            Assert.True(result.LargestRead <= Mtu);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Fallback_KernelRefusesTheOffloads_ReopensWithoutThemUnderTheSameName()
    {
        Elevation.RequireTun();
        Elevation.RequireNetworkNamespaces();
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        string name = HostCommands.UniqueInterfaceName();
        // An unknown TUN_F_* bit: TUNSETOFFLOAD fails with EINVAL, as it does on kernels without these offloads.
        var options = new TunDeviceOptions { Name = name, Mtu = Mtu, OffloadFlags = 0x8000_0000 };
        var device = (LinuxTunDevice)ns.Run(() => TunDevice.Create(options));
        await using (device)
        {
            Assert.False(device.OffloadEnabled);
            Assert.Null(device.Offload);
            Assert.Contains("TUNSETOFFLOAD", device.OffloadFallbackReason, StringComparison.Ordinal);
            Assert.Contains("EINVAL", device.OffloadFallbackReason, StringComparison.Ordinal);
            Assert.Equal(name, device.Name);
            Assert.Contains(name, ns.Ip("-o", "link", "show", "dev", name), StringComparison.Ordinal);

            TransferResult result = await TransferAsync(ns, device, ipv6: true);

            Assert.Equal(TransferBytes, result.Bytes);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task WriteSuperPacket_ToALocalSocket_KernelSegmentsItAndTheBytesArrive(bool offload, bool ipv6)
    {
        Elevation.RequireTun();
        Elevation.RequireNetworkNamespaces();
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        var options = new TunDeviceOptions { Name = HostCommands.UniqueInterfaceName(), Mtu = Mtu, Offload = offload };
        var device = (LinuxTunDevice)ns.Run(() => TunDevice.Create(options));
        await using (device)
        {
            Assert.Equal(offload, device.OffloadEnabled);
            (IPAddress local, IPAddress peer) = Configure(ns, device, ipv6);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            CancellationToken ct = timeout.Token;
            const ushort PeerPort = 40_001;
            uint iss = 0x1000_0000;
            (Socket accepted, uint serverNext) = await ConnectFromPeerAsync(ns, device, local, peer, PeerPort, iss, ct);
            using Socket connection = accepted;

            // Three super-packets of 20,000 payload bytes (14 or 15 segments each), inside the 65,535-byte window.
            byte[] data = new byte[60_000];
            new Random(8).NextBytes(data);
            uint sequence = iss + 1;
            for (int offset = 0; offset < data.Length; offset += 20_000)
            {
                byte[] superPacket = Tcp(
                    peer, local, Port, sequence, serverNext, Ack | (offset + 20_000 == data.Length ? Psh : 0), mssOption: false,
                    fromPort: PeerPort, payload: data.AsSpan(offset, 20_000), partialChecksum: true);
                Assert.True(await device.WriteSuperPacketAsync(superPacket, Mtu - (ipv6 ? 60 : 40), ct));
                sequence += 20_000;
            }

            byte[] received = await ReceiveExactlyAsync(connection, data.Length, ct);

            Assert.True(received.AsSpan().SequenceEqual(data), "the socket received other bytes than the super-packets carried");

            // Not a TCP super-packet (segment size 0; an ICMP packet): refused, nothing written.
            byte[] bad = Tcp(peer, local, Port, sequence, serverNext, Ack, mssOption: false, fromPort: PeerPort, payload: data.AsSpan(0, 3_000), partialChecksum: true);
            Assert.False(await device.WriteSuperPacketAsync(bad, 0, ct));
            Assert.False(await device.WriteSuperPacketAsync(TestPackets.Ipv4EchoRequest(Source4, Destination4, 1, 1, "x"u8), 1_000, ct));
            Assert.Equal(2, device.SuperPacketsRefused);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task PacketWriter_MergesSegmentsOfAFlow_KernelTakesTheSuperPacketsAndTheBytesArrive(bool offload, bool ipv6)
    {
        Elevation.RequireTun();
        Elevation.RequireNetworkNamespaces();
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        var options = new TunDeviceOptions { Name = HostCommands.UniqueInterfaceName(), Mtu = Mtu, Offload = offload };
        var device = (LinuxTunDevice)ns.Run(() => TunDevice.Create(options));
        await using (device)
        {
            (IPAddress local, IPAddress peer) = Configure(ns, device, ipv6);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            CancellationToken ct = timeout.Token;
            const ushort PeerPort = 40_002;
            uint iss = 0x2000_0000;
            (Socket accepted, uint serverNext) = await ConnectFromPeerAsync(ns, device, local, peer, PeerPort, iss, ct);
            using Socket connection = accepted;

            // 60,000 bytes in MSS-sized segments (the last shorter), flushed every 16 segments as a receive batch
            // would be, and a pure ACK in the middle, which ends a super-packet and is written as it is.
            byte[] data = new byte[60_000];
            new Random(9).NextBytes(data);
            var writer = new TunPacketWriter(device);
            int segmentSize = Mtu - (ipv6 ? 60 : 40);
            uint sequence = iss + 1;
            int segments = 0;
            for (int offset = 0; offset < data.Length; offset += segmentSize)
            {
                int length = Math.Min(segmentSize, data.Length - offset);
                await writer.WriteAsync(Tcp(peer, local, Port, sequence, serverNext, Ack | (offset + length == data.Length ? Psh : 0), mssOption: false, fromPort: PeerPort, payload: data.AsSpan(offset, length)), ct);
                sequence += (uint)length;
                if (++segments % 16 == 0)
                {
                    await writer.FlushAsync(ct);
                }

                if (segments == 20)
                {
                    await writer.WriteAsync(Tcp(peer, local, Port, sequence, serverNext, Ack, mssOption: false, fromPort: PeerPort), ct);
                }
            }

            await writer.FlushAsync(ct);
            byte[] received = await ReceiveExactlyAsync(connection, data.Length, ct);

            Assert.True(received.AsSpan().SequenceEqual(data), "the socket received other bytes than the segments carried");
            Assert.Equal(offload, writer.Merges);
            Assert.Equal(0, writer.Refused);
            if (offload)
            {
                // Batches of 16 (flush), 4 (the ACK cuts), 12 + ... : every segment went out inside a super-packet.
                Assert.Equal(segments, writer.MergedSegments);
                Assert.True(writer.SuperPackets >= 3, $"{writer.SuperPackets} super-packets");
            }
            else
            {
                Assert.Equal(0, writer.SuperPackets);
            }
        }
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket connection, int length, CancellationToken ct)
    {
        byte[] received = new byte[length];
        int got = 0;
        while (got < received.Length)
        {
            int n = await connection.ReceiveAsync(received.AsMemory(got), SocketFlags.None, ct);
            Assert.True(n > 0, "the connection closed early");
            got += n;
        }

        return received;
    }

    /// <summary>
    /// Connects to <paramref name="local"/>:<see cref="Port"/> in the namespace as the peer behind the TUN: SYN in,
    /// SYN-ACK out of the TUN, ACK in. Returns the accepted socket and the server's next sequence number.
    /// </summary>
    private static async Task<(Socket Accepted, uint ServerNext)> ConnectFromPeerAsync(
        TestNetworkNamespace ns, ITunDevice device, IPAddress local, IPAddress peer, ushort peerPort, uint iss, CancellationToken ct)
    {
        using Socket listener = ns.Run(() => new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        listener.Bind(new IPEndPoint(local, Port));
        listener.Listen(1);
        await device.WriteAsync(Tcp(peer, local, Port, iss, 0, Syn, mssOption: true, fromPort: peerPort), ct);
        uint serverNext = 0;
        byte[] buffer = new byte[2_000];
        while (serverNext == 0)
        {
            int length = await device.ReadAsync(buffer, ct);
            if (TryParseTcp(buffer.AsSpan(0, length), out int transport, out _)
                && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(transport + 2)) == peerPort
                && (buffer[transport + 13] & (Syn | Ack)) == (Syn | Ack))
            {
                serverNext = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(transport + 4)) + 1;
            }
        }

        await device.WriteAsync(Tcp(peer, local, Port, iss + 1, serverNext, Ack, mssOption: false, fromPort: peerPort), ct);
        return (await listener.AcceptAsync(ct), serverNext);
    }

    private static (IPAddress Local, IPAddress Peer) Configure(TestNetworkNamespace ns, ITunDevice device, bool ipv6)
    {
        ns.Ip("link", "set", "dev", device.Name, "up");
        if (ipv6)
        {
            ns.Ip("-6", "addr", "add", "fd53:7ee7:77::1/64", "dev", device.Name, "nodad");
            ns.Ip("-6", "route", "add", "fd53:7ee7:78::/64", "dev", device.Name);
            return (IPAddress.Parse("fd53:7ee7:77::1"), IPAddress.Parse("fd53:7ee7:78::2"));
        }

        ns.Ip("addr", "add", "198.18.77.1/24", "dev", device.Name);
        ns.Ip("route", "add", "198.18.78.0/24", "dev", device.Name);
        return (IPAddress.Parse("198.18.77.1"), IPAddress.Parse("198.18.78.2"));
    }

    private sealed record TransferResult(int Bytes, int LargestRead, int Segments);

    /// <summary>
    /// Connects from the namespace to the (fake) peer behind the TUN and sends <see cref="TransferBytes"/>; the test is
    /// the peer. Every TCP packet read must verify; the received stream must equal the sent one.
    /// </summary>
    private static async Task<TransferResult> TransferAsync(TestNetworkNamespace ns, ITunDevice device, bool ipv6)
    {
        (IPAddress local, IPAddress peer) = Configure(ns, device, ipv6);

        byte[] data = new byte[TransferBytes];
        new Random(6).NextBytes(data);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(40));
        CancellationToken ct = timeout.Token;

        using Socket sender = ns.Run(() => new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        Task send = Task.Run(
            async () =>
            {
                await sender.ConnectAsync(new IPEndPoint(peer, Port), ct);
                for (int offset = 0; offset < data.Length; offset += 256 * 1024)
                {
                    await sender.SendAsync(data.AsMemory(offset, Math.Min(256 * 1024, data.Length - offset)), SocketFlags.None, ct);
                }
            },
            ct);

        byte[] received = new byte[TransferBytes];
        byte[] buffer = new byte[device.Mtu + 64];
        uint iss = 0x7000_0000;
        uint next = 0; // the next sequence number expected from the sender
        int got = 0;
        int largest = 0;
        int segments = 0;
        bool connected = false;
        while (got < TransferBytes)
        {
            if (send.IsFaulted)
            {
                await send; // surfaces the sender's error
            }

            int length = await device.ReadAsync(buffer, ct);
            largest = Math.Max(largest, length);
            if (!TryParseTcp(buffer.AsSpan(0, length), out int transport, out int payloadStart))
            {
                continue; // not ours (e.g. IPv6 multicast listener reports)
            }

            ReadOnlySpan<byte> packet = buffer.AsSpan(0, length);
            if (!ipv6)
            {
                Assert.True(Ipv4HeaderChecksumValid(packet), "bad IPv4 header checksum");
            }

            Assert.True(TransportChecksumValid(packet, transport, 6), $"bad TCP checksum in a {length}-byte packet");
            ReadOnlySpan<byte> tcp = packet[transport..];
            if (BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]) != Port)
            {
                continue;
            }

            ushort senderPort = BinaryPrimitives.ReadUInt16BigEndian(tcp);
            uint sequence = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
            byte flags = tcp[13];
            if ((flags & Syn) != 0)
            {
                next = sequence + 1;
                connected = true;
                await device.WriteAsync(Tcp(peer, local, senderPort, iss, next, Syn | Ack, mssOption: true), ct);
                continue;
            }

            if (!connected)
            {
                continue;
            }

            int payload = length - payloadStart;
            if (payload > 0 && sequence == next)
            {
                Assert.True(got + payload <= TransferBytes, "more data than was sent");
                packet[payloadStart..].CopyTo(received.AsSpan(got));
                got += payload;
                next += (uint)payload;
                segments++;
            }

            await device.WriteAsync(Tcp(peer, local, senderPort, iss + 1, next, Ack, mssOption: false), ct);
        }

        await send;
        Assert.True(received.AsSpan().SequenceEqual(data), "the bytes read from the TUN differ from the bytes sent");
        return new TransferResult(got, largest, segments);
    }

    private static bool TryParseTcp(ReadOnlySpan<byte> packet, out int transport, out int payloadStart)
    {
        transport = payloadStart = 0;
        if (packet.Length >= 40 && packet[0] >> 4 == 4 && packet[9] == 6)
        {
            transport = (packet[0] & 0x0F) * 4;
            Assert.Equal(packet.Length, BinaryPrimitives.ReadUInt16BigEndian(packet[2..]));
        }
        else if (packet.Length >= 60 && packet[0] >> 4 == 6 && packet[6] == 6)
        {
            transport = 40;
            Assert.Equal(packet.Length - 40, BinaryPrimitives.ReadUInt16BigEndian(packet[4..]));
        }
        else
        {
            return false;
        }

        payloadStart = transport + ((packet[transport + 12] >> 4) * 4);
        return true;
    }

    /// <summary>A TCP packet from the fake peer (window 65535, no scaling), checksums from the reference implementation.</summary>
    private static byte[] Tcp(
        IPAddress from, IPAddress to, ushort toPort, uint sequence, uint acknowledgment, int flags, bool mssOption,
        ushort fromPort = Port, ReadOnlySpan<byte> payload = default, bool partialChecksum = false)
    {
        bool v6 = from.AddressFamily == AddressFamily.InterNetworkV6;
        int ip = v6 ? 40 : 20;
        int tcpHeader = mssOption ? 24 : 20;
        int tcpLength = tcpHeader + payload.Length;
        byte[] packet = new byte[ip + tcpLength];
        Span<byte> p = packet;
        if (v6)
        {
            p[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(p[4..], (ushort)tcpLength);
            p[6] = 6;
            p[7] = 64;
            from.TryWriteBytes(p.Slice(8, 16), out _);
            to.TryWriteBytes(p.Slice(24, 16), out _);
        }
        else
        {
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p[2..], (ushort)packet.Length);
            BinaryPrimitives.WriteUInt16BigEndian(p[6..], 0x4000);
            p[8] = 64;
            p[9] = 6;
            from.TryWriteBytes(p.Slice(12, 4), out _);
            to.TryWriteBytes(p.Slice(16, 4), out _);
            BinaryPrimitives.WriteUInt16BigEndian(p[10..], (ushort)~ReferenceSum(p[..20]));
        }

        Span<byte> tcp = p[ip..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, fromPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], toPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], acknowledgment);
        tcp[12] = (byte)((tcpHeader / 4) << 4);
        tcp[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65_535);
        if (mssOption)
        {
            tcp[20] = 2; // MSS
            tcp[21] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[22..], (ushort)(Mtu - ip - 20));
        }

        payload.CopyTo(tcp[tcpHeader..]);
        ReadOnlySpan<byte> source = v6 ? p.Slice(8, 16) : p.Slice(12, 4);
        ReadOnlySpan<byte> destination = v6 ? p.Slice(24, 16) : p.Slice(16, 4);
        ushort pseudo = ReferencePseudoHeaderSum(source, destination, 6, tcpLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], partialChecksum ? pseudo : (ushort)~ReferenceSum(tcp, pseudo));
        return packet;
    }
}
