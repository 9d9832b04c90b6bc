using System.Diagnostics;

namespace Steer.Tun.Tests;

/// <summary>Runs <c>ip</c> and <c>nft</c> to observe the host's state from outside the code under test.</summary>
internal static class HostCommands
{
    public static (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    /// <summary>Runs <c>ip</c> and returns its output, failing the test when it fails.</summary>
    public static string Ip(params string[] arguments)
    {
        (int exitCode, string output) = Run("ip", arguments);
        Assert.True(exitCode == 0, $"ip {string.Join(' ', arguments)} failed ({exitCode}): {output}");
        return output;
    }

    public static bool LinkExists(string name) => Run("ip", "link", "show", "dev", name).ExitCode == 0;

    /// <summary>A fresh interface name such as <c>steert1a2b3c</c> (12 bytes, within Linux's 15).</summary>
    public static string UniqueInterfaceName(string prefix = "steert")
        => prefix + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
}
