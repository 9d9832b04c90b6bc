using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Steer.Tun.Dns;
using static Tmds.Linux.LibC;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// The routing fact the systemd-resolved backend depends on, checked on this kernel: resolved sends a link's DNS
/// queries with the socket tied to that link (IP_UNICAST_IF, plus SO_BINDTOIFINDEX around connect), so the server
/// address Steer gives it must be reachable through the TUN. In a network namespace of its own, with a TUN whose file
/// descriptor the test holds: a query tied to the TUN reaches a listener on the TUN's own address (delivered locally,
/// and the answer comes back), UDP and TCP; a query to 127.53.0.1 (Steer's stub address for resolv.conf) does not —
/// the kernel writes it to the TUN instead. Hence the stub listens on the TUN's inner address for this backend.
/// </summary>
public sealed class ResolvedLinkRoutingElevatedTests
{
    private const string TunName = "srt0";
    private const int IpUnicastIf = 50; // IP_UNICAST_IF, linux/in.h
    private const int SoBindToIfIndex = 62; // SO_BINDTOIFINDEX, asm-generic/socket.h
    private static readonly IPAddress TunAddress = IPAddress.Parse("100.80.0.2");
    private static readonly IPAddress StubLoopback = IPAddress.Parse("127.53.0.1");

    [Fact]
    public void QueryTiedToTheTun_ReachesTheTunsOwnAddress_ButA127AddressLeavesThroughTheTun()
    {
        Elevation.RequireTun();
        using var ns = TestNetworkNamespace.Create();
        string[] results = ns.Run(() =>
        {
            using SafeFileHandle tun = OpenTun();
            ns.Ip("addr", "add", TunAddress + "/24", "dev", TunName);
            ns.Ip("link", "set", TunName, "up");
            int index = int.Parse(ns.Ip("-o", "link", "show", TunName).Split(':')[0], CultureInfo.InvariantCulture);
            return new[]
            {
                Udp(TunAddress, index, tun),
                Tcp(TunAddress, index),
                Udp(StubLoopback, index, tun),
                Tcp(StubLoopback, index),
            };
        });

        Assert.Equal("delivered from 100.80.0.2, answer received", results[0]);
        Assert.Equal("connected from 100.80.0.2, answer received", results[1]);
        Assert.Equal("not delivered; written to the TUN for 127.53.0.1", results[2]);
        Assert.Equal("not connected", results[3]);
    }

    /// <summary>
    /// The other half of the same fact: interface indexes only mean something inside one network namespace, so a Steer
    /// running in a namespace of its own must not configure a systemd-resolved of another one. Seen from a thread in a
    /// fresh namespace, an owner of org.freedesktop.resolve1 whose pid is this process (in the host namespace) is
    /// OtherNetworkNamespace, and the detection falls back to resolv.conf.
    /// </summary>
    [Fact]
    public void ProbeResolved_FromAnotherNetworkNamespace_IsNotTrusted()
    {
        Elevation.Require(OperatingSystem.IsLinux() && Elevation.HasCapNetAdmin, "Creating a network namespace needs root or CAP_NET_ADMIN; run the tests with sudo.");
        using var directory = new TempDirectory();
        using var peer = new RawDBusPeer(directory.File("bus"));
        peer.Respond = call => call.Member switch
        {
            "NameHasOwner" => RawDBusReply.Bool(true),
            "GetConnectionUnixProcessID" => RawDBusReply.UInt32((uint)Environment.ProcessId),
            _ => RawDBusReply.Empty,
        };
        var options = new DnsConfiguratorOptions { SystemBusAddress = peer.Address };
        using var ns = TestNetworkNamespace.Create();

        Assert.Equal(DnsConfigurator.ResolvedPresence.Here, DnsConfigurator.ProbeResolved(options));
        Assert.Equal(DnsConfigurator.ResolvedPresence.OtherNetworkNamespace, ns.Run(() => DnsConfigurator.ProbeResolved(options)));
    }

    /// <summary>Creates the TUN in the calling thread's namespace and keeps it attached (non-blocking reads).</summary>
    private static unsafe SafeFileHandle OpenTun()
    {
        int fd;
        fixed (byte* path = "/dev/net/tun\0"u8)
        {
            fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        }

        Assert.True(fd >= 0, $"open /dev/net/tun: errno {errno}");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        byte* request = stackalloc byte[40];
        new Span<byte>(request, 40).Clear();
        "srt0"u8.CopyTo(new Span<byte>(request, 16));
        *(short*)(request + 16) = 0x0001 | 0x1000; // IFF_TUN | IFF_NO_PI
        Assert.True(ioctl(fd, 0x400454CA, request) == 0, $"ioctl(TUNSETIFF): errno {errno}");
        return handle;
    }

    /// <summary>Ties a socket to the TUN the way systemd-resolved does for a link's server, then connects.</summary>
    private static void TieAndConnect(Socket socket, int index, IPEndPoint server)
    {
        byte[] unicastIf = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(unicastIf, index); // IP_UNICAST_IF takes the index in network byte order
        socket.SetRawSocketOption(0, IpUnicastIf, unicastIf);
        socket.SetRawSocketOption(1, SoBindToIfIndex, BitConverter.GetBytes(index));
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            socket.ConnectAsync(server, timeout.Token).AsTask().GetAwaiter().GetResult();
        }
        finally
        {
            socket.SetRawSocketOption(1, SoBindToIfIndex, BitConverter.GetBytes(0));
        }
    }

    private static string Udp(IPAddress server, int index, SafeFileHandle tun)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        listener.Bind(new IPEndPoint(server, 0));
        listener.ReceiveTimeout = 1000;
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.ReceiveTimeout = 1000;
        DrainTun(tun);
        TieAndConnect(client, index, (IPEndPoint)listener.LocalEndPoint!);
        client.Send("q"u8);
        byte[] buffer = new byte[1500];
        EndPoint peer = new IPEndPoint(IPAddress.Any, 0);
        try
        {
            listener.ReceiveFrom(buffer, ref peer);
        }
        catch (SocketException)
        {
            byte[]? packet = DrainTun(tun);
            return packet is null ? "not delivered" : $"not delivered; written to the TUN for {new IPAddress(packet.AsSpan(16, 4))}";
        }

        listener.SendTo("a"u8, peer);
        int answered = client.Receive(buffer);
        return $"delivered from {((IPEndPoint)peer).Address}, {(answered == 1 ? "answer received" : "no answer")}";
    }

    private static string Tcp(IPAddress server, int index)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(server, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.ReceiveTimeout = 1000;
        try
        {
            TieAndConnect(client, index, (IPEndPoint)listener.LocalEndPoint!);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return "not connected";
        }

        using Socket accepted = listener.Accept();
        client.Send("q"u8);
        byte[] buffer = new byte[16];
        accepted.Receive(buffer);
        accepted.Send("a"u8);
        int answered = client.Receive(buffer);
        return $"connected from {((IPEndPoint)accepted.RemoteEndPoint!).Address}, {(answered == 1 ? "answer received" : "no answer")}";
    }

    /// <summary>Reads every packet waiting on the TUN (for up to half a second); returns the last IPv4 one, or null.</summary>
    private static unsafe byte[]? DrainTun(SafeFileHandle tun)
    {
        byte[]? last = null;
        byte[] buffer = new byte[2048];
        DateTime until = DateTime.UtcNow.AddMilliseconds(500);
        while (DateTime.UtcNow < until)
        {
            long n;
            fixed (byte* p = buffer)
            {
                n = read((int)tun.DangerousGetHandle(), p, buffer.Length);
            }

            if (n > 20 && buffer[0] >> 4 == 4)
            {
                last = buffer.AsSpan(0, (int)n).ToArray();
            }
            else if (n < 0)
            {
                Thread.Sleep(20);
            }
        }

        return last;
    }
}
