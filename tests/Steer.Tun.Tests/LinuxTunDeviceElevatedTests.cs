using System.Net;
using Steer.Tun.Linux;

namespace Steer.Tun.Tests;

/// <summary>
/// Creates real TUN devices in the current network namespace and configures them through the router. Every test
/// removes what it created, also when it fails: the router's Dispose undoes its changes and closing the device
/// deletes the interface.
/// </summary>
[Collection(HostNetworkCollection.Name)]
[Trait("Category", "RequiresElevation")]
public sealed class LinuxTunDeviceElevatedTests
{
    private static readonly InterfaceAddress s_address4 = InterfaceAddress.Parse("198.18.250.1/24");
    private static readonly InterfaceAddress s_address6 = InterfaceAddress.Parse("fd53:7ee7:250::1/64");
    private static readonly IPNetwork s_routed = IPNetwork.Parse("198.18.251.0/24");
    private static readonly IPAddress s_peer = IPAddress.Parse("198.18.250.2");

    [Fact(Timeout = 30_000)]
    public async Task TunDevice_ConfiguredAndPinged_KernelRepliesThroughTunAndDisposeRemovesEverything()
    {
        Elevation.RequireTun();
        CancellationToken ct = TestContext.Current.CancellationToken;
        string name = HostCommands.UniqueInterfaceName();
        ITunDevice? device = null;
        IRouter? router = null;
        try
        {
            device = TunDevice.Create(new TunDeviceOptions { Name = name, Mtu = 1400 });
            Assert.Equal(name, device.Name);
            Assert.Equal(1400, device.Mtu);
            Assert.True(device.InterfaceIndex > 0);

            router = Router.Create();
            Configure(router, device);

            string link = HostCommands.Ip("-o", "link", "show", "dev", name);
            Assert.Contains("mtu 1400", link, StringComparison.Ordinal);
            Assert.Contains(",UP", link, StringComparison.Ordinal);
            string addresses = HostCommands.Ip("-o", "addr", "show", "dev", name);
            Assert.Contains("inet 198.18.250.1/24", addresses, StringComparison.Ordinal);
            Assert.Contains("inet6 fd53:7ee7:250::1/64", addresses, StringComparison.Ordinal);
            string route = HostCommands.Ip("route", "show", "198.18.251.0/24");
            Assert.Contains("dev " + name, route, StringComparison.Ordinal);

            // Write an echo request from the (virtual) peer 198.18.250.2 to the TUN's own address, then read the
            // kernel's echo reply back from the TUN: both directions of the device work.
            byte[] payload = "steer tun echo test"u8.ToArray();
            ushort id = (ushort)Random.Shared.Next(1, ushort.MaxValue);
            byte[] request = TestPackets.Ipv4EchoRequest(s_peer, s_address4.Address, id, 1, payload);
            await device.WriteAsync(request, ct);

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            byte[] buffer = new byte[device.Mtu];
            bool replied = false;
            while (!replied)
            {
                // Other packets (IPv6 MLD/ND from the kernel) may come first; skip them.
                int length = await device.ReadAsync(buffer, timeout.Token);
                replied = TestPackets.IsEchoReply(buffer.AsSpan(0, length), s_address4.Address, s_peer, id, 1, payload);
            }

            router.Dispose();
            router = null;
            Assert.DoesNotContain("198.18.251.0/24", HostCommands.Ip("route", "show", "198.18.251.0/24"), StringComparison.Ordinal);
            addresses = HostCommands.Ip("-o", "addr", "show", "dev", name);
            Assert.DoesNotContain("198.18.250.1", addresses, StringComparison.Ordinal);
            Assert.DoesNotContain("fd53:7ee7:250::1", addresses, StringComparison.Ordinal);
            Assert.DoesNotContain(",UP", HostCommands.Ip("-o", "link", "show", "dev", name), StringComparison.Ordinal);

            await device.DisposeAsync();
            device = null;
            Assert.False(HostCommands.LinkExists(name), $"{name} still exists after the device was disposed.");
        }
        finally
        {
            router?.Dispose();
            if (device is not null)
            {
                await device.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Lookup_AddressInRoutedPrefix_ReturnsTunInterface()
    {
        Elevation.RequireTun();
        string name = HostCommands.UniqueInterfaceName();
        ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = name });
        try
        {
            using IRouter router = Router.Create();
            Configure(router, device);

            RouteEntry? route = router.Lookup(IPAddress.Parse("198.18.251.7"));
            Assert.NotNull(route);
            Assert.Equal(device.InterfaceIndex, route.InterfaceIndex);
            Assert.Equal(IPNetwork.Parse("198.18.251.7/32"), route.Destination);
            Assert.Equal(RouteEntry.MainTable, route.Table);
            Assert.Null(route.Gateway);

            RouteEntry? route6 = router.Lookup(IPAddress.Parse("fd53:7ee7:250::9"));
            Assert.NotNull(route6);
            Assert.Equal(device.InterfaceIndex, route6.InterfaceIndex);
            Assert.Equal(IPNetwork.Parse("fd53:7ee7:250::9/128"), route6.Destination);
        }
        finally
        {
            await device.DisposeAsync();
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task AddRoute_ViaGatewayWithMetricInOtherTable_IsInstalledAndRemoveRouteDeletesIt()
    {
        Elevation.RequireTun();
        string name = HostCommands.UniqueInterfaceName();
        ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = name });
        try
        {
            using IRouter router = Router.Create();
            Configure(router, device);
            var route = new RouteEntry(IPNetwork.Parse("198.18.252.0/24"), device.InterfaceIndex, s_peer, Table: 1_250, Metric: 77);

            router.AddRoute(route);
            router.AddRoute(route); // replacing an identical route is not an error
            string shown = HostCommands.Ip("route", "show", "table", "1250");
            Assert.Contains($"198.18.252.0/24 via 198.18.250.2 dev {name}", shown, StringComparison.Ordinal);
            Assert.Contains("metric 77", shown, StringComparison.Ordinal);

            router.RemoveRoute(route);
            router.RemoveRoute(route); // already gone is not an error
            Assert.DoesNotContain("198.18.252.0/24", HostCommands.Run("ip", "route", "show", "table", "1250").Output, StringComparison.Ordinal);
        }
        finally
        {
            await device.DisposeAsync();
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task AddRoute_UnknownInterface_ThrowsTunExceptionNamingTheRoute()
    {
        Elevation.RequireTun();
        using IRouter router = Router.Create();
        var route = new RouteEntry(s_routed, 999_999);

        TunException e = Assert.Throws<TunException>(() => router.AddRoute(route));

        Assert.Equal(LinuxErrors.ENODEV, e.ErrorCode);
        Assert.False(e.IsPermissionDenied);
        Assert.StartsWith("Cannot add route 198.18.251.0/24 dev #999999 table 254: No such device (ENODEV).", e.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact(Timeout = 30_000)]
    public async Task Dispose_DeviceClosedBeforeRouter_RouterDisposeIgnoresVanishedObjects()
    {
        Elevation.RequireTun();
        string name = HostCommands.UniqueInterfaceName();
        ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = name });
        IRouter router = Router.Create();
        try
        {
            Configure(router, device);
        }
        finally
        {
            await device.DisposeAsync();
        }

        router.Dispose(); // the link, its addresses and routes are already gone: must not throw
        Assert.False(HostCommands.LinkExists(name));
    }

    [Fact(Timeout = 30_000)]
    public async Task WriteAsync_LinkDown_ThrowsTunExceptionWithEio()
    {
        Elevation.RequireTun();
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = HostCommands.UniqueInterfaceName() });
        byte[] packet = TestPackets.Ipv4EchoRequest(s_peer, s_address4.Address, 1, 1, "x"u8);

        TunException e = await Assert.ThrowsAsync<TunException>(async () => await device.WriteAsync(packet, ct));

        Assert.True(e.ErrorCode == LinuxErrors.EIO, e.ToString());
        Assert.Contains("is down", e.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task ReadAsync_Cancelled_ThrowsOperationCanceled()
    {
        Elevation.RequireTun();
        await using ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = HostCommands.UniqueInterfaceName() });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await device.ReadAsync(new byte[1500], cts.Token));
    }

    [Fact(Timeout = 30_000)]
    public async Task DisposeAsync_WhileReadPending_EndsReadWithObjectDisposed()
    {
        Elevation.RequireTun();
        ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = HostCommands.UniqueInterfaceName() });
        ValueTask<int> read = device.ReadAsync(new byte[1500], TestContext.Current.CancellationToken);
        await Task.Delay(100, TestContext.Current.CancellationToken);

        await device.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await read);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await device.ReadAsync(new byte[1500], TestContext.Current.CancellationToken));
    }

    [Fact(Timeout = 30_000)]
    public async Task Create_NameWithPercentD_KernelPicksDistinctNames()
    {
        Elevation.RequireTun();
        string pattern = HostCommands.UniqueInterfaceName("stt") + "%d";
        await using ITunDevice first = TunDevice.Create(new TunDeviceOptions { Name = pattern });
        await using ITunDevice second = TunDevice.Create(new TunDeviceOptions { Name = pattern });

        Assert.Equal(pattern.Replace("%d", "0", StringComparison.Ordinal), first.Name);
        Assert.Equal(pattern.Replace("%d", "1", StringComparison.Ordinal), second.Name);
        Assert.NotEqual(first.InterfaceIndex, second.InterfaceIndex);
        Assert.True(HostCommands.LinkExists(second.Name));
    }

    [Fact(Timeout = 30_000)]
    public async Task WriteAsync_SteadyState_AllocatesNothingPerPacket()
    {
        Elevation.RequireTun();
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = HostCommands.UniqueInterfaceName() });
        using IRouter router = Router.Create();
        Configure(router, device);
        byte[] packet = TestPackets.Ipv4EchoRequest(s_peer, s_address4.Address, 7, 1, "allocation test"u8);
        for (int i = 0; i < 10; i++)
        {
            await device.WriteAsync(packet, ct); // warm up
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            await device.WriteAsync(packet, ct);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"1000 writes allocated {allocated} bytes.");
    }

    private static void Configure(IRouter router, ITunDevice device)
    {
        router.SetInterfaceUp(device.InterfaceIndex, 1400);
        router.AddAddress(device.InterfaceIndex, s_address4);
        router.AddAddress(device.InterfaceIndex, s_address6);
        router.AddRoute(new RouteEntry(s_routed, device.InterfaceIndex));
    }
}
