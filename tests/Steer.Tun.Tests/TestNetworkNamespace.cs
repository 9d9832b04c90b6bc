using System.Globalization;
using System.Runtime.ExceptionServices;
using Microsoft.Win32.SafeHandles;

namespace Steer.Tun.Tests;

/// <summary>
/// A network namespace of its own for one test (<c>steertt&lt;pid&gt;-&lt;random&gt;</c>), deleted on dispose; those of
/// dead test runs are deleted when the next one is created. Code under test runs inside it through
/// <see cref="Run{T}"/>: a thread that joins the namespace (setns), so that sockets it opens — such as a router's
/// rtnetlink socket — belong to the namespace for good.
/// </summary>
internal sealed class TestNetworkNamespace : IDisposable
{
    private const string Prefix = "steertt";
    private const string NetnsDirectory = "/run/netns";
    private const int CLONE_NEWNET = 0x40000000;

    private TestNetworkNamespace(string name)
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>Creates the namespace with loopback up and IPv6 link-local addresses off for new interfaces (no DAD or addrconf timing in the tables).</summary>
    public static TestNetworkNamespace Create()
    {
        RemoveStale();
        string name = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}");
        HostCommands.Ip("netns", "add", name);
        var ns = new TestNetworkNamespace(name);
        try
        {
            ns.Ip("link", "set", "lo", "up");
            ns.Exec("sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/default/addr_gen_mode");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Runs <c>ip -n NAME …</c>; fails the test when it fails.</summary>
    public string Ip(params string[] arguments) => HostCommands.Ip(["-n", Name, .. arguments]);

    /// <summary>Runs a program inside the namespace (<c>ip netns exec</c>); fails the test when it fails.</summary>
    public string Exec(params string[] command)
    {
        (int exitCode, string output) = HostCommands.Run("ip", ["netns", "exec", Name, .. command]);
        Assert.True(exitCode == 0, $"ip netns exec {Name} {string.Join(' ', command)} failed ({exitCode}): {output}");
        return output;
    }

    /// <summary>Runs <paramref name="action"/> on a new thread that has joined the namespace.</summary>
    public T Run<T>(Func<T> action)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using SafeFileHandle handle = File.OpenHandle(Path.Combine(NetnsDirectory, Name));
                if (Tmds.Linux.LibC.setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) != 0)
                {
                    throw new InvalidOperationException($"setns({Name}) failed: errno {Tmds.Linux.LibC.errno}.");
                }

                result = action();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    public void Dispose() => HostCommands.Run("ip", "netns", "del", Name);

    /// <summary>Deletes the namespaces that test processes which no longer run left behind.</summary>
    private static void RemoveStale()
    {
        if (!Directory.Exists(NetnsDirectory))
        {
            return;
        }

        foreach (string path in Directory.EnumerateFiles(NetnsDirectory, Prefix + "*"))
        {
            string name = Path.GetFileName(path);
            int dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > Prefix.Length
                && int.TryParse(name.AsSpan(Prefix.Length, dash - Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && !Directory.Exists("/proc/" + pid.ToString(CultureInfo.InvariantCulture)))
            {
                HostCommands.Run("ip", "netns", "del", name);
            }
        }
    }
}
