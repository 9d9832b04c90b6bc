using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Steer.Protocol.Dtls;

namespace Steer.Core.Tests.Protocol;

/// <summary>
/// UDP segmentation offload (GSO) on send and receive coalescing (GRO) in <see cref="UdpBatch"/>, against real sockets
/// on 127.0.0.1 (the loopback device does both): super-datagrams arrive as the datagrams that were added, byte for byte
/// and in order, runs split by size, destination and the segment limits; coalesced messages split back at their
/// segment size with the right source; every combination of GSO and GRO on and off gives the same datagrams; and a
/// kernel that refuses GSO loses nothing (a UDP-Lite socket: the kernel knows the <c>UDP_SEGMENT</c> option there but
/// refuses segmented sends with EIO, as for a device without checksum offload; a UDP socket with <c>SO_NO_CHECK</c>:
/// EINVAL).
/// </summary>
public sealed partial class UdpBatchGsoTests : IDisposable
{
    private const int UdpLite = 136;
    private readonly List<Socket> _sockets = [];

    public static TheoryData<bool> Switch => new() { true, false };

    public static TheoryData<bool, bool> GsoGro => new() { { true, true }, { true, false }, { false, true }, { false, false } };

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Switch))]
    public void Equal_datagrams_and_a_short_last_one_leave_as_one_super_datagram_and_arrive_intact_in_order(bool gso)
    {
        Assert.SkipUnless(UdpBatch.IsSupported, "recvmmsg/sendmmsg are Linux only");
        Socket receiver = Bound();
        Socket sender = Bound();
        sender.Connect(receiver.LocalEndPoint!);
        var batch = new UdpBatch(sender, Options(gso, gro: false), withAddresses: false);
        Assert.Equal(gso, batch.IsGso);
        byte[] buffer = new byte[4096];

        for (int round = 0; round < 3; round++)
        {
            SendElevenAndReceiveThem(batch, receiver, buffer, round);
        }

        Assert.False(receiver.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead), "an extra datagram arrived");
        Assert.Equal(3, batch.Syscalls);
        Assert.Equal(33, batch.Datagrams);
        Assert.Equal(0, batch.Dropped);
        Assert.Equal(gso ? 3 : 0, batch.GsoMessages);
        Assert.Equal(gso ? 33 : 0, batch.GsoSegments);
    }

    [Theory]
    [MemberData(nameof(Switch))]
    public void Mixed_sizes_destinations_and_limits_split_into_several_messages_of_one_sendmmsg(bool gso)
    {
        Assert.SkipUnless(UdpBatch.IsSupported, "recvmmsg/sendmmsg are Linux only");
        Socket a = Bound();
        Socket b = Bound();
        Socket sender = Bound();
        SocketAddress toA = a.LocalEndPoint!.Serialize();
        SocketAddress toB = b.LocalEndPoint!.Serialize();
        var batch = new UdpBatch(sender, Options(gso, gro: false) with { Count = 160 }, withAddresses: false);

        // Runs (with GSO): A 5×1000 | B 3×1000 | B 3×800 + 300 (a shorter last one) | A 2×1200 | B 60 alone | A 50 alone
        // (the next is longer) | A 3×1000 | B 70×100 → 64 + 6 (segment limit) | A 50×1400 → 46 + 4 (65,000-byte limit).
        var plan = new List<(bool ToA, int Length)>();
        void Add(bool toA, int count, int length) => plan.AddRange(Enumerable.Repeat((toA, length), count));
        Add(true, 5, 1000);
        Add(false, 3, 1000);
        Add(false, 3, 800);
        Add(false, 1, 300);
        Add(true, 2, 1200);
        Add(false, 1, 60);
        Add(true, 1, 50);
        Add(true, 3, 1000);
        Add(false, 70, 100);
        Add(true, 50, 1400);
        byte[][] datagrams = [.. plan.Select((p, i) => Record(i, p.Length))];
        for (int i = 0; i < plan.Count; i++)
        {
            Assert.True(batch.TryAdd(datagrams[i], plan[i].ToA ? toA : toB));
        }

        batch.Flush();

        byte[] buffer = new byte[4096];
        foreach ((Socket receiver, bool isA) in new[] { (a, true), (b, false) })
        {
            foreach (byte[] expected in datagrams.Where((_, i) => plan[i].ToA == isA))
            {
                Assert.Equal(expected, buffer[..ReceiveWithTimeout(receiver, buffer)]);
            }

            Assert.False(receiver.Poll(TimeSpan.FromMilliseconds(20), SelectMode.SelectRead), "an extra datagram arrived");
        }

        Assert.Equal(1, batch.Syscalls);
        Assert.Equal(plan.Count, batch.Datagrams);
        Assert.Equal(0, batch.Dropped);
        Assert.Equal(gso ? 9 : 0, batch.GsoMessages);
        Assert.Equal(gso ? plan.Count - 2 : 0, batch.GsoSegments);
    }

    [Theory]
    [MemberData(nameof(GsoGro))]
    public void Every_gso_and_gro_combination_delivers_the_same_datagrams_with_their_sources(bool gso, bool gro)
    {
        Assert.SkipUnless(UdpBatch.IsSupported, "recvmmsg/sendmmsg are Linux only");
        Socket listener = Bound();
        Socket a = Bound();
        Socket b = Bound();
        a.Connect(listener.LocalEndPoint!);
        b.Connect(listener.LocalEndPoint!);
        var sendA = new UdpBatch(a, Options(gso, gro: false), withAddresses: false);
        var sendB = new UdpBatch(b, Options(gso, gro: false), withAddresses: false);
        var receive = new UdpBatch(listener, Options(gso: false, gro), withAddresses: true);
        Assert.Equal(0, receive.Receive(1)); // the first receive turns GRO on
        Assert.Equal(gro, receive.IsGro);
        SocketAddress addressA = a.LocalEndPoint!.Serialize();
        SocketAddress addressB = b.LocalEndPoint!.Serialize();

        var expectedA = new List<byte[]>();
        var expectedB = new List<byte[]>();
        var gotA = new List<byte[]>();
        var gotB = new List<byte[]>();
        int index = 0;
        void Send(UdpBatch batch, List<byte[]> expected, int count, int length, int lastLength)
        {
            for (int i = 0; i < count; i++)
            {
                byte[] datagram = Record(index++, i == count - 1 ? lastLength : length);
                expected.Add(datagram);
                Assert.True(batch.TryAdd(datagram, null));
            }

            batch.Flush();
        }

        for (int round = 0; round < 10; round++)
        {
            Send(sendA, expectedA, 21, 1200, 77);
            Send(sendB, expectedB, 7, 500, 500);
            Send(sendA, expectedA, 3, 1200, 1200);
            Send(sendB, expectedB, 1, 900, 900);
            int wanted = expectedA.Count + expectedB.Count;
            for (int call = 0; call < 1000 && gotA.Count + gotB.Count < wanted; call++)
            {
                int count = receive.Receive(5000);
                Assert.True(count > 0, "timed out");
                for (int i = 0; i < count; i++)
                {
                    SocketAddress source = receive.Source(i);
                    Assert.True(source.Equals(addressA) || source.Equals(addressB), source.ToString());
                    (source.Equals(addressA) ? gotA : gotB).Add(receive.Datagram(i).ToArray());
                }
            }
        }

        Assert.Equal(expectedA, gotA);
        Assert.Equal(expectedB, gotB);
        Assert.False(listener.Poll(TimeSpan.FromMilliseconds(20), SelectMode.SelectRead), "an extra datagram arrived");
        Assert.Equal(expectedA.Count + expectedB.Count, receive.Datagrams);
        Assert.Equal(0, receive.Dropped);
        Assert.Equal(0, sendA.Dropped + sendB.Dropped);
        if (gso && gro)
        {
            // Loopback hands a super-datagram to a GRO socket as it was sent.
            Assert.True(receive.GroMessages >= 10, $"{receive.GroMessages} coalesced messages");
            Assert.True(receive.GroSegments >= 10 * 21, $"{receive.GroSegments} coalesced datagrams");
            Assert.True(receive.Syscalls < 40, $"{receive.Syscalls} recvmmsg calls");
        }
        else
        {
            Assert.Equal(0, receive.GroMessages);
            Assert.Equal(0, receive.GroSegments);
        }
    }

    [Theory]
    [MemberData(nameof(GsoGro))]
    public void Client_transports_carry_a_gso_burst_through_gro_record_by_record(bool gso, bool gro)
    {
        Socket left = Bound();
        Socket right = Bound();
        left.Connect(right.LocalEndPoint!);
        right.Connect(left.LocalEndPoint!);
        var sender = new UdpDatagramTransport(left, 1500, Options(gso, gro));
        var receiver = new UdpDatagramTransport(right, 1500, Options(gso, gro));
        byte[] buffer = new byte[2048];
        Assert.Equal(-1, receiver.Receive(buffer, 0, buffer.Length, 1)); // the first receive turns GRO on

        for (int round = 0; round < 5; round++)
        {
            byte[][] records = [.. Enumerable.Range(0, 31).Select(i => Record((round * 100) + i, i < 30 ? 1300 : 100))];
            sender.BeginBatch();
            foreach (byte[] record in records)
            {
                sender.Send(record);
            }

            sender.EndBatch();
            foreach (byte[] record in records)
            {
                int n = receiver.Receive(buffer, 0, buffer.Length, 5000);
                Assert.Equal(record, buffer[..n]);
            }
        }

        Assert.Equal(-1, receiver.Receive(buffer, 0, buffer.Length, 20));
        Assert.Equal(155, receiver.ReceiveBatch.Datagrams);
        bool both = gso && gro && UdpBatch.IsSupported;
        Assert.Equal(both ? 155 : 0, receiver.ReceiveBatch.GroSegments);
        Assert.Equal(gso && UdpBatch.IsSupported ? 155 : 0, sender.SendBatch.GsoSegments);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Gso_refused_by_the_kernel_turns_off_and_the_batch_is_sent_again_without_loss(bool udpLite)
    {
        Assert.SkipUnless(UdpBatch.IsSupported, "recvmmsg/sendmmsg are Linux only");
        Socket receiver = Bound(udpLite ? UdpLite : (int)ProtocolType.Udp);
        Socket sender = Bound(udpLite ? UdpLite : (int)ProtocolType.Udp);
        if (!udpLite)
        {
            // SO_NO_CHECK: plain datagrams leave without a checksum; segmented ones are refused with EINVAL, which the
            // batch tells from "too big for the path" by sending the run's first datagram alone.
            sender.SetRawSocketOption(1 /* SOL_SOCKET */, 11 /* SO_NO_CHECK */, BitConverter.GetBytes(1));
        }

        sender.Connect(receiver.LocalEndPoint!);
        var batch = new UdpBatch(sender, Options(gso: true, gro: false), withAddresses: false);
        Assert.True(batch.IsGso, "the kernel should accept the UDP_SEGMENT option on a UDP-Lite socket");
        byte[] buffer = new byte[4096];

        for (int round = 0; round < 3; round++)
        {
            SendElevenAndReceiveThem(batch, receiver, buffer, round);

            Assert.False(batch.IsGso);
        }

        Assert.False(receiver.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead), "an extra datagram arrived");
        Assert.True(batch.IsBatched);
        // The refused sendmmsg (EINVAL: and the first datagram alone), then one plain sendmmsg per round.
        Assert.Equal(udpLite ? 4 : 5, batch.Syscalls);
        Assert.Equal(33, batch.Datagrams);
        Assert.Equal(0, batch.Dropped);
        Assert.Equal(0, batch.GsoMessages);
    }

    [Fact]
    public void Sending_and_receiving_with_gso_and_gro_allocates_nothing_per_datagram()
    {
        Assert.SkipUnless(UdpBatch.IsSupported, "recvmmsg/sendmmsg are Linux only");
        Socket listener = Bound();
        Socket sender = Bound();
        sender.Connect(listener.LocalEndPoint!);
        var send = new UdpBatch(sender, Options(gso: true, gro: true), withAddresses: false);
        var receive = new UdpBatch(listener, Options(gso: true, gro: true), withAddresses: true);
        byte[] full = Record(1, 1300);
        byte[] tail = Record(2, 200);

        // No assertion inside the measured loop: only the batch's own work is counted.
        (long Allocated, int Received) RunRounds(int rounds)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            int received = 0;
            for (int round = 0; round < rounds; round++)
            {
                for (int i = 0; i < 20; i++)
                {
                    send.TryAdd(i < 19 ? full : tail, null);
                }

                send.Flush();
                int got = 0;
                for (int call = 0; call < 100 && got < 20; call++)
                {
                    int count = receive.Receive(5000);
                    for (int i = 0; i < count; i++)
                    {
                        received += receive.Datagram(i).Length == full.Length || receive.Source(i).Size == 0 ? 1 : 0;
                    }

                    got += count;
                }
            }

            return (GC.GetAllocatedBytesForCurrentThread() - before, received);
        }

        RunRounds(5); // GRO slots, the first poll, JIT
        (long allocated, int received) = RunRounds(200);
        Assert.Equal(200 * 19, received);
        Assert.Equal(0, allocated);
        Assert.True(send.GsoMessages >= 200);
        Assert.True(receive.GroMessages >= 200);
    }

    private static UdpBatchOptions Options(bool gso, bool gro) => UdpBatchOptions.Default with { Gso = gso, Gro = gro };

    private Socket Bound(int protocol = (int)ProtocolType.Udp)
    {
        Socket socket;
        if (protocol == UdpLite)
        {
            // .NET refuses protocol numbers it does not know, so the socket is made with socket(2) and adopted.
            int fd = CreateSocket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, UdpLite);
            if (fd < 0)
            {
                Assert.Skip($"no UDP-Lite in this kernel (errno {Marshal.GetLastPInvokeError()})");
            }

            socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        }
        else
        {
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, (ProtocolType)protocol);
        }

        _sockets.Add(socket);
        socket.ReceiveBufferSize = 1 << 20;
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int CreateSocket(int domain, int type, int protocol);

    /// <summary>Ten 1,400-byte datagrams and a 600-byte one through the batch: each arrives byte for byte, in order.</summary>
    private static void SendElevenAndReceiveThem(UdpBatch batch, Socket receiver, byte[] buffer, int round)
    {
        byte[][] expected = [.. Enumerable.Range(0, 11).Select(i => Record((round * 100) + i, i < 10 ? 1400 : 600))];
        foreach (byte[] datagram in expected)
        {
            Assert.True(batch.TryAdd(datagram, null));
        }

        batch.Flush();
        foreach (byte[] datagram in expected)
        {
            Assert.Equal(datagram, buffer[..ReceiveWithTimeout(receiver, buffer)]);
        }
    }

    private static int ReceiveWithTimeout(Socket socket, byte[] buffer)
    {
        Assert.True(socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead), "timed out");
        return socket.Receive(buffer);
    }

    /// <summary>
    /// A datagram of <paramref name="length"/> bytes shaped like one DTLS handshake record (the adapters' record guard
    /// drops what is not DTLS), with the index in its sequence number and a pattern body that differs per index.
    /// </summary>
    private static byte[] Record(int index, int length)
    {
        byte[] datagram = new byte[length];
        datagram[0] = 22;
        datagram[1] = 254;
        datagram[2] = 253;
        BinaryPrimitives.WriteInt32LittleEndian(datagram.AsSpan(5), index);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(11), (ushort)(length - 13));
        for (int i = 13; i < length; i++)
        {
            datagram[i] = (byte)((i * 7) + (index * 13));
        }

        return datagram;
    }
}
