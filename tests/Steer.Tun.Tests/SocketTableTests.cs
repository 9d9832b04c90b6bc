using System.Net;
using System.Net.Sockets;
using Steer.Tun.Linux;

namespace Steer.Tun.Tests;

public sealed class SocketTableTests
{
    [Theory]
    // Lines as the kernel prints them on x86-64 (little endian), state 01 = ESTABLISHED.
    [InlineData("   1: 0100007F:A0C2 4D00007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 81234 1 0000000000000000 20 4 30 10 -1", "127.0.0.77")]
    [InlineData("   0: 0201A8C0:D431 0A0012C6:01BB 08 00000000:00000000 00:00000000 00000000  1000        0 123 1", "198.18.0.10")]
    [InlineData("  3: 00000000000000000000000001000000:8CA4 B80D0120000000000000000001000000:01BB 01 00000000:00000000 00:00000000 00000000     0        0 4567 1", "2001:db8::1")]
    [InlineData("  4: 0000000000000000FFFF00000100007F:8CA4 0000000000000000FFFF00000202A8C0:0035 01 00000000:00000000 00:00000000 00000000     0        0 4567 2", "192.168.2.2")]
    public void TryParseRemote_ConnectedSocket_ReturnsPeer(string line, string expected)
    {
        Assert.True(ProcNetSockets.TryParseRemote(line, out IPAddress? remote));
        Assert.Equal(IPAddress.Parse(expected), remote);
    }

    [Theory]
    [InlineData("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")]
    [InlineData("   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 811 1")] // LISTEN
    [InlineData("  12: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 912 2")] // UDP unconnected
    [InlineData("   2: 0100007F:A0C2 4D00007F:0050 06 00000000:00000000 03:00001770 00000000     0        0 0 3")] // TIME_WAIT
    [InlineData("   5: 0100007F:A0C2 00000000:0000 01 00000000:00000000 00:00000000 00000000     0        0 1 1")] // no peer
    [InlineData("   5: 0100007F:A0C2 4D00007Z:0050 01 00000000:00000000 00:00000000 00000000     0        0 1 1")] // bad hex
    [InlineData("   5: 0100007F:A0C2 4D0000:0050 01")] // bad length
    [InlineData("")]
    [InlineData("garbage")]
    public void TryParseRemote_NoPeer_ReturnsFalse(string line)
    {
        Assert.False(ProcNetSockets.TryParseRemote(line, out IPAddress? remote));
        Assert.Null(remote);
    }

    [Fact]
    public async Task GetConnectedRemoteAddresses_OpenTcpConnection_ListsItsPeerUntilClosed()
    {
        Assert.SkipUnless(SocketTable.IsSupported, "SocketTable reads /proc/net: Linux only");
        // A loopback address of its own, so that no other connection on the machine can make the test pass.
        var address = IPAddress.Parse("127.0.0.77");
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(address, 0));
        listener.Listen();
        Assert.DoesNotContain(address, SocketTable.GetConnectedRemoteAddresses());

        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket accepted = await listener.AcceptAsync(TestContext.Current.CancellationToken);

        Assert.Contains(address, SocketTable.GetConnectedRemoteAddresses());

        // The client closes first: its side goes to TIME_WAIT (not counted); the accepted side's peer is 127.0.0.1.
        client.Dispose();
        accepted.Shutdown(SocketShutdown.Both);
        accepted.Close();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(address, SocketTable.GetConnectedRemoteAddresses());
    }

    [Fact]
    public void GetConnectedRemoteAddresses_ConnectedUdpSocket_ListsItsPeer()
    {
        Assert.SkipUnless(SocketTable.IsSupported, "SocketTable reads /proc/net: Linux only");
        var address = IPAddress.Parse("127.0.0.78");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.DoesNotContain(address, SocketTable.GetConnectedRemoteAddresses());
        socket.Connect(new IPEndPoint(address, 9)); // UDP connect sends nothing
        Assert.Contains(address, SocketTable.GetConnectedRemoteAddresses());
    }
}
