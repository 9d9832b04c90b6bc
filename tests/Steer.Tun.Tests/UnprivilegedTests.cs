using System.Diagnostics;
using System.Net;

namespace Steer.Tun.Tests;

/// <summary>
/// What a user without CAP_NET_ADMIN sees. Without the capability (a developer's plain account) the checks run in the
/// test process; with it (root, CI) they run in a child process of this test executable started through
/// <c>setpriv --bounding-set=-net_admin</c>, which takes CAP_NET_ADMIN away from root for that child, so they run
/// on CI too instead of skipping.
/// </summary>
public sealed class UnprivilegedTests
{
    /// <summary>First argument of the child process (see <see cref="Program"/>), followed by the check's name.</summary>
    public const string Verb = "--steer-unprivileged-child";

    [Fact]
    public void Create_WithoutCapNetAdmin_ThrowsPermissionDeniedWithHint()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && File.Exists("/dev/net/tun"), "Needs Linux with /dev/net/tun.");
        RunWithoutCapNetAdmin(nameof(CreateTunWithoutCapNetAdmin));
    }

    [Fact]
    public void AddRoute_WithoutCapNetAdmin_ThrowsPermissionDeniedNamingTheRoute()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The router is only implemented on Linux.");
        RunWithoutCapNetAdmin(nameof(AddRouteWithoutCapNetAdmin));
    }

    /// <summary>The child's side: runs one check and reports through the exit code and stderr.</summary>
    public static int RunChild(string check)
    {
        try
        {
            if (Elevation.HasCapNetAdmin)
            {
                Console.Error.WriteLine("the child still has CAP_NET_ADMIN");
                return 3;
            }

            Checks[check]();
            return 0;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine(ex.ToString());
            return 1;
        }
    }

    private static readonly Dictionary<string, Action> Checks = new()
    {
        [nameof(CreateTunWithoutCapNetAdmin)] = CreateTunWithoutCapNetAdmin,
        [nameof(AddRouteWithoutCapNetAdmin)] = AddRouteWithoutCapNetAdmin,
    };

    private static void CreateTunWithoutCapNetAdmin()
    {
        TunException e = Assert.Throws<TunException>(() => TunDevice.Create(new TunDeviceOptions { Name = "steer%d" }));

        Assert.True(e.IsPermissionDenied, e.Message);
        Assert.StartsWith("Creating TUN device 'steer%d' needs root or CAP_NET_ADMIN (", e.Message, StringComparison.Ordinal);
        Assert.Contains("setcap cap_net_admin+ep", e.Message, StringComparison.Ordinal);
    }

    private static void AddRouteWithoutCapNetAdmin()
    {
        using IRouter router = Router.Create();

        TunException e = Assert.Throws<TunException>(() => router.AddRoute(new RouteEntry(IPNetwork.Parse("198.18.251.0/24"), 1)));

        Assert.True(e.IsPermissionDenied, e.Message);
        Assert.StartsWith("Cannot add route 198.18.251.0/24 dev #1 table 254: this needs root or CAP_NET_ADMIN", e.Message, StringComparison.Ordinal);
    }

    private static void RunWithoutCapNetAdmin(string check)
    {
        if (!Elevation.HasCapNetAdmin)
        {
            Checks[check]();
            return;
        }

        Elevation.Require(Elevation.IsRoot && File.Exists("/usr/bin/setpriv"),
            "With CAP_NET_ADMIN but not root, or without setpriv (util-linux), the capability cannot be dropped for a child.");
        var start = new ProcessStartInfo("/usr/bin/setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--bounding-set=-net_admin");
        start.ArgumentList.Add("--inh-caps=-net_admin");
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

        start.ArgumentList.Add(Verb);
        start.ArgumentList.Add(check);
        using Process child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the child process.");
        Task<string> stdout = child.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> stderr = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!child.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            child.Kill();
            Assert.Fail("the child process did not finish within 60 s");
        }

        Assert.True(child.ExitCode == 0, $"child (setpriv --bounding-set=-net_admin) exited with {child.ExitCode}: {stderr.Result}{stdout.Result}");
    }
}
