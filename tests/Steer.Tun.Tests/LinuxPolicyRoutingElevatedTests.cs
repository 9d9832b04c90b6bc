using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Steer.Tun.Tests.Dns;

namespace Steer.Tun.Tests;

/// <summary>
/// Policy rules, route types, table flushing and crash recovery against the real kernel, each test in a network
/// namespace of its own (so they touch nothing of the host's and may run in parallel with the other tests). What the
/// kernel holds is read back with <c>ip</c>.
/// </summary>
[Trait("Category", "RequiresElevation")]
[SupportedOSPlatform("linux")] // every test skips first when not on Linux
public sealed partial class LinuxPolicyRoutingElevatedTests
{
    [Fact(Timeout = 60_000)]
    public async Task AddRuleAndAddRoute_EveryShapeAndType_AreInstalledAndDisposeRemovesThem()
    {
        Elevation.RequireNetworkNamespaces();
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        int v0 = PolicyRoutingScenario.CreateVeth(ns);
        Snapshot before = Snapshot.Take(ns);
        using var directory = new TempDirectory();
        var options = new RouterOptions { JournalPath = directory.File("router.journal") };
        IRouter router = ns.Run(() => Router.Create(options));
        try
        {
            Assert.True(router.SupportsPolicyRules);
            PolicyRoutingScenario.Apply(router, v0);
            router.AddRule(PolicyRoutingScenario.Rules[0]); // already there: not an error, and not added twice

            // The journal is in use: neither a second router nor a recovery may touch it.
            Assert.Throws<TunException>(() => ns.Run(() => Router.Create(options)));
            Assert.Throws<TunException>(() => ns.Run(() => Router.RecoverLeftovers(options.JournalPath)));

            Assert.Equal(PolicyRoutingScenario.ExpectedRules4, ns.Ip("rule", "show"));
            Assert.Equal(PolicyRoutingScenario.ExpectedRules6, ns.Ip("-6", "rule", "show"));
            Assert.Equal(PolicyRoutingScenario.ExpectedRoutes4, ns.Ip("route", "show", "table", "5354"));
            Assert.Equal(PolicyRoutingScenario.ExpectedRoutes6, ns.Ip("-6", "route", "show", "table", "5354"));

            // Lookups go through the rules: "not fwmark 0x5354" sends unmarked packets to table 5354.
            RouteEntry? viaGateway = router.Lookup(IPAddress.Parse("198.18.56.7"));
            Assert.Equal(new RouteEntry(IPNetwork.Parse("198.18.56.7/32"), v0, IPAddress.Parse("198.18.55.2"), 5354, 0), viaGateway);
            Assert.Null(router.Lookup(IPAddress.Parse("198.18.59.7"))); // blackhole
            Assert.Null(router.Lookup(IPAddress.Parse("198.18.60.7"))); // unreachable
            Assert.Null(router.Lookup(IPAddress.Parse("198.18.58.7"))); // throw, and nothing in main

            router.Dispose();

            Assert.False(File.Exists(options.JournalPath), "A clean dispose deletes the journal.");
            Snapshot after = Snapshot.Take(ns);
            after.AssertEqual(before);
            Assert.Equal("", ns.Ip("route", "show", "table", "5354"));
            Assert.Equal("", ns.Ip("-6", "route", "show", "table", "5354"));
        }
        finally
        {
            router.Dispose();
        }

        await Task.CompletedTask;
    }

    [Fact(Timeout = 60_000)]
    public async Task FlushTable_DeletesEveryRouteOfThatTableAndFamilyOnly()
    {
        Elevation.RequireNetworkNamespaces();
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        PolicyRoutingScenario.CreateVeth(ns);
        ns.Ip("link", "set", "v0", "up");
        ns.Ip("route", "add", "198.18.57.0/24", "dev", "v0", "table", "5354");
        ns.Ip("route", "add", "throw", "198.18.58.0/24", "table", "5354");
        ns.Ip("route", "add", "198.18.57.0/24", "dev", "v0", "table", "5355");
        ns.Ip("-6", "route", "add", "fd53:7ee7:57::/48", "dev", "v0", "table", "5354");
        ns.Ip("-6", "route", "add", "unreachable", "fd53:7ee7:60::/48", "table", "5354");
        using IRouter router = ns.Run(() => Router.Create());
        router.AddRoute(RouteEntry.WithoutInterface(RouteType.Blackhole, IPNetwork.Parse("198.18.59.0/24"), 5354));

        router.FlushTable(5354, AddressFamily.InterNetwork);

        Assert.Equal("", ns.Ip("route", "show", "table", "5354"));
        Assert.Contains("fd53:7ee7:57::/48", ns.Ip("-6", "route", "show", "table", "5354"), StringComparison.Ordinal);
        Assert.Equal("198.18.57.0/24 dev v0 scope link linkdown \n", ns.Ip("route", "show", "table", "5355"));

        router.FlushTable(5354, AddressFamily.InterNetworkV6);
        router.FlushTable(5354, AddressFamily.InterNetworkV6); // an empty table is fine

        Assert.Equal("", ns.Ip("-6", "route", "show", "table", "5354"));
        Assert.Throws<ArgumentOutOfRangeException>(() => router.FlushTable(RouteEntry.MainTable, AddressFamily.InterNetwork));
        await Task.CompletedTask;
    }

    [Fact(Timeout = 60_000)]
    public async Task RemoveRule_OursOrSomeoneElses_IsGoneAndNotRestoredOnDispose()
    {
        Elevation.RequireNetworkNamespaces();
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        string rulesBefore = ns.Ip("rule", "show");
        ns.Ip("rule", "add", "pref", "2000", "fwmark", "0x7/0xffffffff", "table", "5354");
        IRouter router = ns.Run(() => Router.Create());
        try
        {
            RoutingRule ours = PolicyRoutingScenario.Rules[2];
            router.AddRule(ours);
            router.RemoveRule(ours);
            router.RemoveRule(ours); // already gone: not an error
            router.RemoveRule(new RoutingRule(AddressFamily.InterNetwork, 2000, 5354) { FirewallMark = 7 });

            Assert.Equal(rulesBefore, ns.Ip("rule", "show"));
            router.Dispose();
            Assert.Equal(rulesBefore, ns.Ip("rule", "show"));
        }
        finally
        {
            router.Dispose();
        }

        await Task.CompletedTask;
    }

    [Fact(Timeout = 120_000)]
    public async Task RecoverLeftovers_AfterKill9OfTheProcess_RestoresRulesRoutesAddressesAndLinkExactly()
    {
        Elevation.RequireNetworkNamespaces();
        Elevation.Require(File.Exists("/dev/net/tun"), "/dev/net/tun is missing (load the tun module: modprobe tun).");
        CancellationToken ct = TestContext.Current.CancellationToken;
        using TestNetworkNamespace ns = TestNetworkNamespace.Create();
        PolicyRoutingScenario.CreateVeth(ns);
        ns.Ip("route", "add", "198.18.71.0/24", "dev", "lo", "table", "5354", "proto", "static"); // someone else's
        using var directory = new TempDirectory();
        string journal = directory.File("run/steer/router.journal");
        Snapshot before = Snapshot.Take(ns);

        using (Process child = StartChild(ns, journal))
        {
            try
            {
                Task<string> childErrors = child.StandardError.ReadToEndAsync(ct);
                string? line = await child.StandardOutput.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(60), ct);
                Assert.True(line == "ready", $"The child did not get ready: {line}; stderr: {(child.HasExited ? await childErrors : "")}");

                Snapshot during = Snapshot.Take(ns);
                Assert.Equal(PolicyRoutingScenario.ExpectedRules4, during.Rules4);
                Assert.Equal(PolicyRoutingScenario.ExpectedRules6, during.Rules6);
                Assert.Contains("steerct0", during.Routes4, StringComparison.Ordinal);
                Assert.DoesNotContain("198.18.71.0/24", during.Routes4, StringComparison.Ordinal);
                Assert.True(File.Exists(journal));

                child.Kill(); // SIGKILL: no Dispose, no finally, no exit handlers
                await child.WaitForExitAsync(ct);
                Assert.Equal(128 + 9, child.ExitCode);
            }
            finally
            {
                if (!child.HasExited)
                {
                    child.Kill();
                }
            }
        }

        Assert.True(File.Exists(journal), "The journal must survive the killed process.");
        Assert.False(ns.Ip("-o", "link").Contains("steerct0", StringComparison.Ordinal), "The TUN device vanishes with its process.");

        int undone = ns.Run(() => Router.RecoverLeftovers(journal));

        Assert.Equal(RouterCrashChild.ChangeCount, undone);
        Assert.False(File.Exists(journal));
        Snapshot.Take(ns).AssertEqual(before);
        Assert.Equal(0, ns.Run(() => Router.RecoverLeftovers(journal)));
    }

    private static Process StartChild(TestNetworkNamespace ns, string journal)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("netns");
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(ns.Name);
        string appHost = Path.Combine(AppContext.BaseDirectory, "Steer.Tun.Tests");
        if (File.Exists(appHost))
        {
            start.ArgumentList.Add(appHost);
        }
        else
        {
            start.ArgumentList.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Steer.Tun.Tests.dll"));
        }

        start.ArgumentList.Add(RouterCrashChild.Verb);
        start.ArgumentList.Add(journal);
        return Process.Start(start) ?? throw new InvalidOperationException("Could not start the child process.");
    }

    [GeneratedRegex(@"<[^>]*> mtu \d+")]
    private static partial Regex LinkFlagsAndMtu();

    /// <summary>What <c>ip</c> shows of a namespace: rules, every table of both families, v0's flags and MTU, addresses.</summary>
    private sealed record Snapshot(string Rules4, string Rules6, string Routes4, string Routes6, string Link, string Addresses)
    {
        public static Snapshot Take(TestNetworkNamespace ns) => new(
            ns.Ip("rule", "show"),
            ns.Ip("-6", "rule", "show"),
            ns.Ip("route", "show", "table", "all"),
            ns.Ip("-6", "route", "show", "table", "all"),
            LinkFlagsAndMtu().Match(ns.Ip("-o", "link", "show", "dev", "v0")).Value,
            ns.Ip("-o", "addr", "show"));

        public void AssertEqual(Snapshot expected)
        {
            Assert.Equal(expected.Rules4, Rules4);
            Assert.Equal(expected.Rules6, Rules6);
            Assert.Equal(expected.Routes4, Routes4);
            Assert.Equal(expected.Routes6, Routes6);
            Assert.Equal(expected.Link, Link);
            Assert.Equal(expected.Addresses, Addresses);
        }
    }
}
