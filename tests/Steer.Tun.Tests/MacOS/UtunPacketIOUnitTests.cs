using System.Net.Sockets;
using Steer.Tun.MacOS;

namespace Steer.Tun.Tests.MacOS;

/// <summary>
/// The utun packet path (the code <see cref="MacOSTunDevice"/> reads and writes through) over a fake utun descriptor:
/// one end of a <c>socketpair(AF_UNIX, SOCK_DGRAM)</c>, which like utun keeps datagram boundaries. The test plays the
/// kernel on the other end: it sees the 4-byte big-endian family header in front of every written packet and puts
/// one in front of every packet it injects.
/// </summary>
public sealed class UtunPacketIOUnitTests : IDisposable
{
    private static readonly byte[] s_ipv4Packet = TestPackets.Ipv4EchoRequest(
        System.Net.IPAddress.Parse("198.18.0.1"), System.Net.IPAddress.Parse("198.18.0.2"), 7, 1, [1, 2, 3, 4, 5]);

    // An IPv6 header (version 6, payload 8 bytes, next header 59 = none, hop limit 64, fd53::1 -> fd53::2) + 8 bytes.
    private static readonly byte[] s_ipv6Packet =
    [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3B, 0x40,
        0xFD, 0x53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        0xFD, 0x53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
        1, 2, 3, 4, 5, 6, 7, 8,
    ];

    private readonly UtunPacketIO _io;
    private readonly Socket _kernel;

    public UtunPacketIOUnitTests()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The fake utun descriptor is a Linux socketpair.");
        (SafeSocketHandle device, SafeSocketHandle kernel) = SocketPair();
        _io = new UtunPacketIO(device, "utun-test", maxPacketLength: 1500);
        _kernel = new Socket(kernel);
    }

    [Fact]
    public async Task WriteAsync_Ipv4Packet_PrependsAfInetHeader()
    {
        await _io.WriteAsync(s_ipv4Packet, TestContext.Current.CancellationToken);

        byte[] frame = await ReceiveFrameAsync();
        Assert.Equal(new byte[] { 0, 0, 0, 2 }, frame[..4]);
        Assert.Equal(s_ipv4Packet, frame[4..]);
    }

    [Fact]
    public async Task WriteAsync_Ipv6Packet_PrependsMacOSAfInet6Header()
    {
        await _io.WriteAsync(s_ipv6Packet, TestContext.Current.CancellationToken);

        byte[] frame = await ReceiveFrameAsync();
        Assert.Equal(new byte[] { 0, 0, 0, 30 }, frame[..4]);
        Assert.Equal(s_ipv6Packet, frame[4..]);
    }

    [Fact]
    public async Task ReadAsync_FrameFromKernel_ReturnsThePacketWithoutHeader()
    {
        await _kernel.SendAsync(Frame(30, s_ipv6Packet), SocketFlags.None, TestContext.Current.CancellationToken);
        await _kernel.SendAsync(Frame(2, s_ipv4Packet), SocketFlags.None, TestContext.Current.CancellationToken);
        byte[] buffer = new byte[1500];

        int first = await _io.ReadAsync(buffer, TestContext.Current.CancellationToken);
        Assert.Equal(s_ipv6Packet, buffer[..first]);
        int second = await _io.ReadAsync(buffer, TestContext.Current.CancellationToken);
        Assert.Equal(s_ipv4Packet, buffer[..second]);
    }

    [Fact]
    public async Task ReadAsync_WaitsForAFrame()
    {
        byte[] buffer = new byte[1500];
        ValueTask<int> pending = _io.ReadAsync(buffer, TestContext.Current.CancellationToken);
        Assert.False(pending.IsCompleted);

        await _kernel.SendAsync(Frame(2, s_ipv4Packet), SocketFlags.None, TestContext.Current.CancellationToken);

        int length = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(s_ipv4Packet, buffer[..length]);
    }

    [Fact]
    public async Task ReadAsync_RuntWithoutWholeHeader_IsSkipped()
    {
        await _kernel.SendAsync(new byte[] { 0, 0 }, SocketFlags.None, TestContext.Current.CancellationToken);
        await _kernel.SendAsync(Frame(2, s_ipv4Packet), SocketFlags.None, TestContext.Current.CancellationToken);
        byte[] buffer = new byte[1500];

        int length = await _io.ReadAsync(buffer, TestContext.Current.CancellationToken);

        Assert.Equal(s_ipv4Packet, buffer[..length]);
    }

    [Fact]
    public async Task ReadAsync_ShortBuffer_TruncatesLikeATunRead()
    {
        await _kernel.SendAsync(Frame(2, s_ipv4Packet), SocketFlags.None, TestContext.Current.CancellationToken);
        byte[] buffer = new byte[10];

        int length = await _io.ReadAsync(buffer, TestContext.Current.CancellationToken);

        Assert.Equal(10, length);
        Assert.Equal(s_ipv4Packet[..10], buffer);
    }

    [Fact]
    public async Task WriteAsync_NotAnIpPacket_ThrowsTunExceptionAndWritesNothing()
    {
        TunException e = await Assert.ThrowsAsync<TunException>(async () => await _io.WriteAsync(new byte[] { 0x50, 0, 0, 0 }, TestContext.Current.CancellationToken));

        Assert.Contains("not an IPv4 or IPv6 packet", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _kernel.Available);
    }

    [Fact]
    public async Task WriteAsync_LongerThanTheFrame_ThrowsTunException()
    {
        byte[] jumbo = new byte[1501];
        jumbo[0] = 0x45;

        TunException e = await Assert.ThrowsAsync<TunException>(async () => await _io.WriteAsync(jumbo, TestContext.Current.CancellationToken));

        Assert.Contains("1501 bytes long; at most 1500 fit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAndWrite_InSteadyState_AllocateNothingPerPacket()
    {
        byte[] buffer = new byte[1500];
        byte[] frame = Frame(2, s_ipv4Packet);
        byte[] echo = new byte[1504];
        CancellationToken none = CancellationToken.None;
        long before = 0;

        // Both directions complete synchronously: the datagram is already queued when the other side asks for it.
        // The first rounds warm up (the socket engine caches its awaitable event args on first use).
        for (int i = 0; i < 210; i++)
        {
            if (i == 10)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }

            await _io.WriteAsync(s_ipv4Packet, none);
            _kernel.Receive(echo);
            _kernel.Send(frame);
            int length = await _io.ReadAsync(buffer, none);
            if (length != s_ipv4Packet.Length)
            {
                Assert.Fail($"Read {length} bytes instead of {s_ipv4Packet.Length}.");
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (IsOptimized(typeof(UtunPacketIO).Assembly))
        {
            Assert.True(allocated == 0, $"{allocated} bytes allocated over 200 packets each way.");
        }
        else
        {
            // A Debug build compiles async methods to classes (for Edit and Continue): one state-machine object per
            // call, nothing else. scripts/test.sh (and CI) run Release, where the exact zero above applies.
            Assert.True(allocated <= 200 * 2 * 128, $"{allocated} bytes allocated over 200 packets each way: more than one state machine per call.");
        }
    }

    [Fact]
    public async Task Dispose_PendingRead_EndsWithObjectDisposed()
    {
        byte[] buffer = new byte[1500];
        ValueTask<int> pending = _io.ReadAsync(buffer, TestContext.Current.CancellationToken);

        _io.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    public void Dispose()
    {
        _io?.Dispose();
        _kernel?.Dispose();
    }

    private async Task<byte[]> ReceiveFrameAsync()
    {
        byte[] frame = new byte[2048];
        int length = await _kernel.ReceiveAsync(frame, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return frame[..length];
    }

    private static byte[] Frame(byte family, byte[] packet) => [0, 0, 0, family, .. packet];

    private static bool IsOptimized(System.Reflection.Assembly assembly)
        => !(assembly.GetCustomAttributes(typeof(System.Diagnostics.DebuggableAttribute), false)
            .OfType<System.Diagnostics.DebuggableAttribute>()
            .FirstOrDefault()?.IsJITOptimizerDisabled ?? false);

    private static unsafe (SafeSocketHandle Device, SafeSocketHandle Kernel) SocketPair()
    {
        int* fds = stackalloc int[2];
        int result = Tmds.Linux.LibC.socketpair(Tmds.Linux.LibC.AF_UNIX, Tmds.Linux.LibC.SOCK_DGRAM | Tmds.Linux.LibC.SOCK_CLOEXEC, 0, fds);
        Assert.True(result == 0, $"socketpair failed: errno {Tmds.Linux.LibC.errno}");
        return (new SafeSocketHandle(fds[0], ownsHandle: true), new SafeSocketHandle(fds[1], ownsHandle: true));
    }
}
