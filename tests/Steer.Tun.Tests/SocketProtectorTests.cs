using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Steer.Tun.Tests;

/// <summary>
/// <see cref="SocketProtector"/>: the option bytes of every OS (pure), and on Linux real sockets: SO_MARK read back,
/// EPERM without CAP_NET_ADMIN, and policy routing on the mark in a network namespace of the test's own.
/// </summary>
public sealed partial class SocketProtectorTests
{
    private const int SolSocket = 1;
    private const int SoMark = 36;
    private const int CloneNewNet = 0x40000000;
    private const int CapNetAdmin = 12;
    private const int CapNetRaw = 13;
    private const uint LinuxCapabilityVersion3 = 0x20080522;

    // ---- Option encodings, byte for byte (any OS) ----

    [Fact]
    public void Linux_encoding_is_SO_MARK_at_SOL_SOCKET_as_a_host_order_u32()
    {
        SocketOptionSetting mark = Assert.Single(SocketProtectionEncoding.Linux(0x5354));
        Assert.Equal((1, 36, "SO_MARK"), (mark.Level, mark.Name, mark.OptionName));
        Assert.Equal(new byte[] { 0x54, 0x53, 0x00, 0x00 }, mark.Value);

        Assert.Equal(new byte[] { 0xEF, 0xBE, 0xAD, 0xDE }, Assert.Single(SocketProtectionEncoding.Linux(0xDEADBEEF)).Value);
        Assert.Empty(SocketProtectionEncoding.Linux(0));
    }

    [Fact]
    public void MacOS_ipv4_is_IP_BOUND_IF_level_0_option_25_host_order()
    {
        SocketOptionSetting bound = Assert.Single(SocketProtectionEncoding.MacOS(AddressFamily.InterNetwork, 12));

        Assert.Equal((0, 25, "IP_BOUND_IF"), (bound.Level, bound.Name, bound.OptionName));
        Assert.Equal(new byte[] { 0x0C, 0x00, 0x00, 0x00 }, bound.Value);
    }

    [Fact]
    public void MacOS_ipv6_and_dual_mode_are_IPV6_BOUND_IF_level_41_option_125_host_order()
    {
        SocketOptionSetting bound = Assert.Single(SocketProtectionEncoding.MacOS(AddressFamily.InterNetworkV6, 0x0102));

        Assert.Equal((41, 125, "IPV6_BOUND_IF"), (bound.Level, bound.Name, bound.OptionName));
        Assert.Equal(new byte[] { 0x02, 0x01, 0x00, 0x00 }, bound.Value);
    }

    [Fact]
    public void Windows_ipv4_is_IP_UNICAST_IF_with_the_index_in_network_byte_order()
    {
        SocketOptionSetting bound = Assert.Single(SocketProtectionEncoding.Windows(AddressFamily.InterNetwork, dualMode: false, 12));
        Assert.Equal((0, 31, "IP_UNICAST_IF"), (bound.Level, bound.Name, bound.OptionName));
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00, 0x0C }, bound.Value);

        Assert.Equal(new byte[] { 0x01, 0x02, 0x03, 0x04 },
            Assert.Single(SocketProtectionEncoding.Windows(AddressFamily.InterNetwork, dualMode: false, 0x01020304)).Value);
    }

    [Fact]
    public void Windows_ipv6_is_IPV6_UNICAST_IF_with_the_index_in_host_byte_order()
    {
        SocketOptionSetting bound = Assert.Single(SocketProtectionEncoding.Windows(AddressFamily.InterNetworkV6, dualMode: false, 12));
        Assert.Equal((41, 31, "IPV6_UNICAST_IF"), (bound.Level, bound.Name, bound.OptionName));
        Assert.Equal(new byte[] { 0x0C, 0x00, 0x00, 0x00 }, bound.Value);

        Assert.Equal(new byte[] { 0x04, 0x03, 0x02, 0x01 },
            Assert.Single(SocketProtectionEncoding.Windows(AddressFamily.InterNetworkV6, dualMode: false, 0x01020304)).Value);
    }

    [Fact]
    public void Windows_dual_mode_socket_gets_both_options_each_in_its_own_byte_order()
    {
        SocketOptionSetting[] both = SocketProtectionEncoding.Windows(AddressFamily.InterNetworkV6, dualMode: true, 7);

        Assert.Equal(2, both.Length);
        Assert.Equal((41, 31, "IPV6_UNICAST_IF"), (both[0].Level, both[0].Name, both[0].OptionName));
        Assert.Equal(new byte[] { 0x07, 0x00, 0x00, 0x00 }, both[0].Value);
        Assert.Equal((0, 31, "IP_UNICAST_IF"), (both[1].Level, both[1].Name, both[1].OptionName));
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00, 0x07 }, both[1].Value);
    }

    [Fact]
    public void Interface_index_0_binds_nothing_on_macOS_and_Windows()
    {
        Assert.Empty(SocketProtectionEncoding.MacOS(AddressFamily.InterNetwork, 0));
        Assert.Empty(SocketProtectionEncoding.MacOS(AddressFamily.InterNetworkV6, 0));
        Assert.Empty(SocketProtectionEncoding.Windows(AddressFamily.InterNetwork, dualMode: false, 0));
        Assert.Empty(SocketProtectionEncoding.Windows(AddressFamily.InterNetworkV6, dualMode: true, 0));
    }

    [Fact]
    public void Binding_a_non_IP_socket_is_refused()
    {
        Assert.Throws<ArgumentException>(() => SocketProtectionEncoding.MacOS(AddressFamily.Unix, 3));
        Assert.Throws<ArgumentException>(() => SocketProtectionEncoding.Windows(AddressFamily.Unix, dualMode: false, 3));
    }

    [Fact]
    public void Bind_failure_message_names_the_socket_the_interface_and_the_option()
    {
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
        SocketOptionSetting option = SocketProtectionEncoding.Windows(AddressFamily.InterNetworkV6, dualMode: true, 12)[0];

        TunException error = SocketProtectionEncoding.BindFailed(socket, option, 12, new SocketException((int)SocketError.AddressNotAvailable));

        Assert.StartsWith("Cannot bind a UDP dual-mode IPv6 socket to interface #12 (IPV6_UNICAST_IF): ", error.Message, StringComparison.Ordinal);
        Assert.Contains("SocketProtectorOptions.InterfaceIndex", error.Message, StringComparison.Ordinal);
        Assert.IsType<SocketException>(error.InnerException);
    }

    [Fact]
    public void Linux_mark_failure_with_EPERM_says_CAP_NET_ADMIN_is_needed()
    {
        TunException error = SocketProtectionEncoding.MarkFailed("a UDP IPv4 socket", 0x5354, new SocketException((int)SocketError.AccessDenied));

        Assert.True(error.IsPermissionDenied);
        Assert.Equal(1, error.ErrorCode); // EPERM: the runtime's AccessDenied stands for EPERM or EACCES, and SO_MARK only gives EPERM
        Assert.StartsWith("Cannot set SO_MARK 0x5354 on a UDP IPv4 socket: this needs root or CAP_NET_ADMIN", error.Message, StringComparison.Ordinal);
        Assert.Contains("setcap cap_net_admin+ep", error.Message, StringComparison.Ordinal);
    }

    // ---- Options and factory ----

    [Fact]
    public void Options_default_to_mark_0x5354_and_no_interface()
    {
        var options = new SocketProtectorOptions();

        Assert.Equal(0x5354u, options.FirewallMark);
        Assert.Equal(SocketProtectorOptions.DefaultFirewallMark, options.FirewallMark);
        Assert.Equal(0, options.InterfaceIndex);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.InterfaceIndex = -1);
        options.InterfaceIndex = 9;
        Assert.Equal(9, options.InterfaceIndex);
    }

    [Fact]
    public void None_leaves_the_socket_alone()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        SocketProtector.None.Protect(socket);

        Assert.Same(SocketProtector.None, SocketProtector.None);
        Assert.Throws<ArgumentNullException>(() => SocketProtector.None.Protect(null!));
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(0u, ReadMark(socket));
        }
    }

    [Fact]
    public void Create_on_Linux_is_the_SO_MARK_protector()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "This checks the Linux choice of SocketProtector.Create.");

        Assert.Equal("LinuxSocketProtector", SocketProtector.Create().GetType().Name);
        Assert.Equal("LinuxSocketProtector", SocketProtector.Create(new SocketProtectorOptions { InterfaceIndex = 3 }).GetType().Name);
        Assert.Throws<ArgumentNullException>(() => SocketProtector.Create().Protect(null!));
    }

    // ---- Linux, real sockets ----

    [Theory]
    [InlineData(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp, false)]
    [InlineData(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp, false)]
    [InlineData(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp, true)]
    [InlineData(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp, true)]
    public void Protect_sets_SO_MARK_that_getsockopt_reads_back(AddressFamily family, SocketType type, ProtocolType protocol, bool dualMode)
    {
        RequireMarkPrivilege();
        using var socket = new Socket(family, type, protocol);
        if (dualMode)
        {
            socket.DualMode = true;
        }

        Assert.Equal(0u, ReadMark(socket));

        SocketProtector.Create().Protect(socket);

        Assert.Equal(0x5354u, ReadMark(socket));
    }

    [Fact]
    public void Protect_reads_the_options_at_each_call_and_mark_0_sets_nothing()
    {
        RequireMarkPrivilege();
        var options = new SocketProtectorOptions { FirewallMark = 0x1234 };
        ISocketProtector protector = SocketProtector.Create(options);
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var third = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        protector.Protect(first);
        options.FirewallMark = 0xABCDEF01;
        options.InterfaceIndex = 2; // not used on Linux
        protector.Protect(second);
        options.FirewallMark = 0;
        protector.Protect(third);

        Assert.Equal(0x1234u, ReadMark(first));
        Assert.Equal(0xABCDEF01u, ReadMark(second));
        Assert.Equal(0u, ReadMark(third));
    }

    [Fact]
    public void Protect_without_CAP_NET_ADMIN_throws_a_permission_TunException()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SO_MARK is Linux's.");

        // Capabilities are per thread on Linux: drop CAP_NET_ADMIN and CAP_NET_RAW (either allows SO_MARK) from the
        // effective set of a thread of our own, which then ends. Without root they are absent anyway.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        ISocketProtector protector = SocketProtector.Create();
        TunException error = OnThread(() =>
        {
            DropEffectiveCapabilities(CapNetAdmin, CapNetRaw);
            return Assert.Throws<TunException>(() => protector.Protect(socket));
        });

        Assert.True(error.IsPermissionDenied, error.Message);
        Assert.Equal(1, error.ErrorCode); // EPERM
        Assert.StartsWith("Cannot set SO_MARK 0x5354 on a UDP IPv4 socket: this needs root or CAP_NET_ADMIN", error.Message, StringComparison.Ordinal);
        Assert.Equal(0u, ReadMark(socket));
    }

    /// <summary>
    /// In a namespace of its own: 192.0.2.0/24 goes out veth <c>main0</c> by the main table, out <c>mark0</c> by table
    /// 100, and the rule <c>fwmark 0x5354 lookup 100</c> picks table 100 for marked sockets. A protected UDP socket gets
    /// <c>mark0</c>'s source address and its datagrams leave through <c>mark0</c>; an unprotected one uses <c>main0</c>.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public void Marked_socket_takes_the_policy_route_in_a_network_namespace()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SO_MARK and policy routing are Linux's.");
        Elevation.Require(Elevation.IsRoot, "Creating a network namespace needs root; run the tests with sudo.");
        Elevation.Require(HostCommands.Run("ip", "-V").ExitCode == 0, "The ip command is missing: apt-get install iproute2.");

        string ns = "steer-sp" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));
        HostCommands.Ip("netns", "add", ns);
        try
        {
            HostCommands.Ip("-n", ns, "link", "set", "lo", "up");
            // No IPv6 and no ARP: nothing but the test's datagrams leaves the two links, so their counters are exact.
            HostCommands.Ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            foreach ((string link, string peer, string address) in new[] { ("main0", "main1", "198.18.254.1/24"), ("mark0", "mark1", "198.18.255.1/24") })
            {
                HostCommands.Ip("-n", ns, "link", "add", link, "type", "veth", "peer", "name", peer);
                HostCommands.Ip("-n", ns, "link", "set", link, "arp", "off");
                HostCommands.Ip("-n", ns, "addr", "add", address, "dev", link);
                HostCommands.Ip("-n", ns, "link", "set", link, "up");
                HostCommands.Ip("-n", ns, "link", "set", peer, "up");
            }

            HostCommands.Ip("-n", ns, "route", "add", "192.0.2.0/24", "dev", "main0", "src", "198.18.254.1");
            HostCommands.Ip("-n", ns, "route", "add", "192.0.2.0/24", "dev", "mark0", "src", "198.18.255.1", "table", "100");
            HostCommands.Ip("-n", ns, "rule", "add", "fwmark", "0x5354", "lookup", "100");

            long main0Before = TxPackets(ns, "main0"), mark0Before = TxPackets(ns, "mark0");
            ISocketProtector protector = SocketProtector.Create();
            (IPAddress unprotectedSource, IPAddress protectedSource) = InNamespace(ns, () =>
            {
                var destination = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 9);
                using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                using var marked = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                protector.Protect(marked);
                plain.Connect(destination);
                marked.Connect(destination);
                for (int i = 0; i < 5; i++)
                {
                    plain.Send("unprotected"u8);
                }

                for (int i = 0; i < 3; i++)
                {
                    marked.Send("protected"u8);
                }

                return (((IPEndPoint)plain.LocalEndPoint!).Address, ((IPEndPoint)marked.LocalEndPoint!).Address);
            });

            Assert.Equal(IPAddress.Parse("198.18.254.1"), unprotectedSource);
            Assert.Equal(IPAddress.Parse("198.18.255.1"), protectedSource);
            Assert.Equal(5, TxPackets(ns, "main0") - main0Before);
            Assert.Equal(3, TxPackets(ns, "mark0") - mark0Before);
        }
        finally
        {
            HostCommands.Run("ip", "netns", "del", ns);
        }

        Assert.DoesNotContain(ns, HostCommands.Run("ip", "netns", "list").Output, StringComparison.Ordinal);
    }

    private static void RequireMarkPrivilege()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SO_MARK is Linux's.");
        Elevation.Require(Elevation.HasCapNetAdmin, "Setting SO_MARK needs root or CAP_NET_ADMIN; run the tests with sudo.");
    }

    private static uint ReadMark(Socket socket)
    {
        byte[] value = new byte[4];
        Assert.Equal(4, socket.GetRawSocketOption(SolSocket, SoMark, value));
        return MemoryMarshal.Read<uint>(value);
    }

    private static long TxPackets(string ns, string link)
    {
        string json = HostCommands.Ip("-n", ns, "-j", "-s", "link", "show", "dev", link);
        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement[0].GetProperty("stats64").GetProperty("tx").GetProperty("packets").GetInt64();
    }

    /// <summary>Runs <paramref name="work"/> on a new thread that has entered <paramref name="ns"/> (setns is per thread).</summary>
    private static T InNamespace<T>(string ns, Func<T> work) => OnThread(() =>
    {
        using SafeFileHandle handle = File.OpenHandle(Path.Combine("/run/netns", ns));
        if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
        {
            Assert.Fail($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return work();
    });

    /// <summary>Runs <paramref name="work"/> on a thread of its own that ends afterwards, so per-thread state dies with it.</summary>
    private static T OnThread<T>(Func<T> work)
    {
        T? result = default;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception ex)
            {
                error = ExceptionDispatchInfo.Capture(ex);
            }
        });
        thread.Start();
        thread.Join();
        error?.Throw();
        return result!;
    }

    private static unsafe void DropEffectiveCapabilities(params int[] capabilities)
    {
        var header = new CapHeader { Version = LinuxCapabilityVersion3, Pid = 0 };
        CapData* data = stackalloc CapData[2];
        Assert.True(CapGet(&header, data) == 0, $"capget failed: errno {Marshal.GetLastPInvokeError()}");
        foreach (int capability in capabilities)
        {
            data[capability / 32].Effective &= ~(1u << (capability % 32));
        }

        Assert.True(CapSet(&header, data) == 0, $"capset failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc.so.6", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc.so.6", EntryPoint = "capget", SetLastError = true)]
    private static unsafe partial int CapGet(CapHeader* header, CapData* data);

    [LibraryImport("libc.so.6", EntryPoint = "capset", SetLastError = true)]
    private static unsafe partial int CapSet(CapHeader* header, CapData* data);

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }
}
