using System.Globalization;
using System.Net;

namespace Steer.Tun.Tests;

/// <summary>
/// The process that <see cref="LinuxPolicyRoutingElevatedTests"/> kills with SIGKILL: run inside the test's network
/// namespace (<c>ip netns exec</c>), it creates a TUN device, makes every kind of change through a router with an
/// on-disk journal, prints <c>ready</c> and waits to be killed, never disposing anything.
/// </summary>
internal static class RouterCrashChild
{
    public const string Verb = "--steer-router-crash-child";

    /// <summary>Someone else's route (the test adds it with <c>ip</c>), which the child removes: a recovery puts it back.</summary>
    public static RouteEntry ForeignRoute { get; } = new(IPNetwork.Parse("198.18.71.0/24"), 1, null, PolicyRoutingScenario.Table);

    /// <summary>The changes journalled: the scenario's (link, 2 addresses, rules, routes), 3 on the TUN device and the removal.</summary>
    public static int ChangeCount => 3 + PolicyRoutingScenario.Rules.Length + PolicyRoutingScenario.Routes(1).Length + 3 + 1;

    public static int Run(string journalPath)
    {
        int v0 = int.Parse(File.ReadAllText("/sys/class/net/v0/ifindex").Trim(), CultureInfo.InvariantCulture);
        ITunDevice tun = TunDevice.Create(new TunDeviceOptions { Name = "steerct0" });
        IRouter router = Router.Create(new RouterOptions { JournalPath = journalPath });
        PolicyRoutingScenario.Apply(router, v0);
        router.SetInterfaceUp(tun.InterfaceIndex, 1400);
        router.AddAddress(tun.InterfaceIndex, InterfaceAddress.Parse("198.18.80.1/24"));
        router.AddRoute(new RouteEntry(IPNetwork.Parse("198.18.81.0/24"), tun.InterfaceIndex, null, PolicyRoutingScenario.Table));
        router.RemoveRoute(ForeignRoute);

        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        // Killed here. Should the test process die first, its end of stdin closes: leave as a crash would.
        Console.In.ReadToEnd();
        GC.KeepAlive(router);
        GC.KeepAlive(tun);
        return 2;
    }
}
