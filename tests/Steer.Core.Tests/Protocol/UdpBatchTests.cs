using System.Net;
using System.Net.Sockets;
using Steer.Protocol.Dtls;

namespace Steer.Core.Tests.Protocol;

/// <summary>
/// The UDP batching adapters (recvmmsg/sendmmsg, and the forced one-call-per-datagram fallback) against real loopback
/// sockets: order, content, source addresses, oversized datagrams and refused sends (with the default GSO and GRO on
/// in the batched mode; <see cref="UdpBatchGsoTests"/> covers those two).
/// </summary>
public sealed class UdpBatchTests : IDisposable
{
    private const int Rounds = 20;
    private const int PerRound = 40; // more than one batch (32), well inside loopback socket buffers
    private readonly List<Socket> _sockets = [];

    public static TheoryData<bool> Modes => new() { true, false };

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Client_transport_receives_every_datagram_in_order_and_intact(bool batched)
    {
        Socket receiver = Bound();
        Socket sender = Bound();
        sender.Connect(receiver.LocalEndPoint!);
        receiver.Connect(sender.LocalEndPoint!);
        var transport = new UdpDatagramTransport(receiver, 1500, Options(batched));
        byte[] buffer = new byte[2048];

        for (int round = 0; round < Rounds; round++)
        {
            for (int i = 0; i < PerRound; i++)
            {
                sender.Send(Datagram((round * PerRound) + i));
            }

            for (int i = 0; i < PerRound; i++)
            {
                int n = transport.Receive(buffer, 0, buffer.Length, 5000);
                Assert.Equal(Datagram((round * PerRound) + i), buffer[..n]);
            }
        }

        Assert.Equal(-1, transport.Receive(buffer, 0, buffer.Length, 50));
        UdpBatch batch = transport.ReceiveBatch;
        Assert.Equal(Rounds * PerRound, batch.Datagrams);
        Assert.Equal(batched && UdpBatch.IsSupported, batch.IsBatched);
        if (batch.IsBatched)
        {
            // With GRO the batch takes fewer (64 KiB) messages per call; these datagrams are sent one by one, so none
            // is coalesced.
            int perRound = (PerRound + batch.ReceiveMessages - 1) / batch.ReceiveMessages;
            Assert.True(batch.Syscalls <= Rounds * (perRound + 2), $"{batch.Syscalls} recvmmsg calls for {batch.Datagrams} datagrams");
            Assert.Equal(UdpBatch.IsSupported, batch.IsGro);
            Assert.Equal(0, batch.GroMessages);
        }
        else
        {
            Assert.Equal(Rounds * PerRound, batch.Syscalls);
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Client_transport_sends_a_batch_with_one_call_in_order_and_intact(bool batched)
    {
        Socket receiver = Bound();
        Socket sender = Bound();
        sender.Connect(receiver.LocalEndPoint!);
        var transport = new UdpDatagramTransport(sender, 1500, Options(batched));
        byte[] buffer = new byte[4096];

        for (int round = 0; round < Rounds; round++)
        {
            transport.BeginBatch();
            for (int i = 0; i < PerRound; i++)
            {
                transport.Send(Datagram((round * PerRound) + i));
            }

            transport.EndBatch();
            for (int i = 0; i < PerRound; i++)
            {
                int n = ReceiveWithTimeout(receiver, buffer);
                Assert.Equal(Datagram((round * PerRound) + i), buffer[..n]);
            }
        }

        UdpBatch batch = transport.SendBatch;
        Assert.Equal(Rounds * PerRound, batch.Datagrams);
        Assert.Equal(0, batch.Dropped);
        Assert.Equal(batch.IsBatched ? Rounds * 2 : Rounds * PerRound, batch.Syscalls); // 40 = one full batch of 32 + 8

        // Outside a batch, and from another thread while a batch is open, a send leaves at once.
        transport.Send(Datagram(9999));
        Assert.Equal(Datagram(9999), buffer[..ReceiveWithTimeout(receiver, buffer)]);
        transport.BeginBatch();
        Thread other = new(() => transport.Send(Datagram(7777)));
        other.Start();
        other.Join();
        Assert.Equal(Datagram(7777), buffer[..ReceiveWithTimeout(receiver, buffer)]);
        transport.EndBatch();
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Listener_batch_keeps_the_source_address_of_every_datagram(bool batched)
    {
        Socket listener = Bound();
        Socket a = Bound();
        Socket b = Bound();
        var batch = new UdpBatch(listener, Options(batched), withAddresses: true);
        SocketAddress addressA = a.LocalEndPoint!.Serialize();
        SocketAddress addressB = b.LocalEndPoint!.Serialize();
        var seen = new List<(int Index, bool FromA)>();

        for (int i = 0; i < 300; i++)
        {
            (i % 3 == 0 ? b : a).SendTo(Datagram(i), listener.LocalEndPoint!);
            if (i % PerRound == PerRound - 1 || i == 299)
            {
                while (seen.Count <= i)
                {
                    int count = batch.Receive(5000);
                    Assert.True(count > 0, "timed out");
                    for (int k = 0; k < count; k++)
                    {
                        byte[] datagram = batch.Datagram(k).ToArray();
                        int index = BitConverter.ToInt32(datagram, 5);
                        Assert.Equal(Datagram(index), datagram);
                        SocketAddress source = batch.Source(k);
                        Assert.True(source.Equals(addressA) || source.Equals(addressB), source.ToString());
                        seen.Add((index, source.Equals(addressA)));
                    }
                }
            }
        }

        Assert.Equal(Enumerable.Range(0, 300), seen.Select(s => s.Index));
        Assert.All(seen, s => Assert.Equal(s.Index % 3 != 0, s.FromA));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Gateway_peer_transport_batches_sends_to_its_remote(bool batched)
    {
        Socket shared = Bound();
        Socket client = Bound();
        var peer = new PeerDatagramTransport(shared, client.LocalEndPoint!.Serialize(), 1500, Options(batched));
        byte[] buffer = new byte[4096];

        peer.BeginBatch();
        for (int i = 0; i < 100; i++)
        {
            peer.Send(Datagram(i));
        }

        peer.EndBatch();
        for (int i = 0; i < 100; i++)
        {
            int n = ReceiveWithTimeout(client, buffer);
            Assert.Equal(Datagram(i), buffer[..n]);
        }

        Assert.Equal(100, peer.SendBatch!.Datagrams);
        Assert.Equal(peer.SendBatch.IsBatched ? 4 : 100, peer.SendBatch.Syscalls);

        // Delivered datagrams come out of Receive in order; a closed peer ends the receive.
        for (int i = 0; i < 10; i++)
        {
            Assert.True(peer.Deliver(Datagram(i)));
        }

        for (int i = 0; i < 10; i++)
        {
            int n = peer.Receive(buffer, 0, buffer.Length, 1000);
            Assert.Equal(Datagram(i), buffer[..n]);
        }

        Assert.Equal(-1, peer.Receive(buffer, 0, buffer.Length, 20));
        peer.Close();
        Assert.False(peer.Deliver(Datagram(1)));
        Assert.Throws<IOException>(() => peer.Receive(buffer, 0, buffer.Length, 20));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Datagram_larger_than_a_slot_is_dropped_and_the_next_one_still_arrives(bool batched)
    {
        Socket receiver = Bound();
        Socket sender = Bound();
        sender.Connect(receiver.LocalEndPoint!);
        var transport = new UdpDatagramTransport(receiver, 1500, Options(batched));
        byte[] buffer = new byte[2048];

        sender.Send(new byte[3000]);
        sender.Send(Datagram(5));

        int n = transport.Receive(buffer, 0, buffer.Length, 5000);
        if (n < 0)
        {
            n = transport.Receive(buffer, 0, buffer.Length, 5000); // the fallback reports the truncated one as a timeout
        }

        Assert.Equal(Datagram(5), buffer[..n]);
        Assert.Equal(1, transport.ReceiveBatch.Dropped);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Sends_to_a_closed_port_are_dropped_not_thrown(bool batched)
    {
        Socket closed = Bound();
        EndPoint nobody = closed.LocalEndPoint!;
        closed.Dispose();
        Socket sender = Bound();
        sender.Connect(nobody);
        var transport = new UdpDatagramTransport(sender, 1500, Options(batched));
        byte[] buffer = new byte[2048];

        for (int round = 0; round < 5; round++)
        {
            transport.BeginBatch();
            for (int i = 0; i < 10; i++)
            {
                transport.Send(Datagram(i));
            }

            transport.EndBatch();
            transport.Send(Datagram(99));
            Assert.Equal(-1, transport.Receive(buffer, 0, buffer.Length, 20)); // ICMP port unreachable reads as silence
        }

        Assert.Equal(55, transport.SendBatch.Datagrams + transport.SendBatch.Dropped);
    }

    private static UdpBatchOptions Options(bool batched) => batched ? UdpBatchOptions.Default : UdpBatchOptions.Disabled;

    private Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _sockets.Add(socket);
        socket.ReceiveBufferSize = 1 << 20;
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static int ReceiveWithTimeout(Socket socket, byte[] buffer)
    {
        Assert.True(socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead), "timed out");
        return socket.Receive(buffer);
    }

    /// <summary>Datagram <paramref name="index"/>: 4-byte index, then a pattern; lengths from 4 to 1471 bytes.</summary>
    /// <summary>
    /// A datagram shaped like one DTLS handshake record (the adapters' record guard drops what is not DTLS, and leaves
    /// handshake records to BouncyCastle), with the index in its sequence number and a pattern body.
    /// </summary>
    private static byte[] Datagram(int index)
    {
        byte[] datagram = new byte[13 + ((index * 37) % 1460)];
        datagram[0] = 22;
        datagram[1] = 254;
        datagram[2] = 253;
        BitConverter.TryWriteBytes(datagram.AsSpan(5), index);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(11), (ushort)(datagram.Length - 13));
        for (int i = 13; i < datagram.Length; i++)
        {
            datagram[i] = (byte)((i * 7) + index);
        }

        return datagram;
    }
}
