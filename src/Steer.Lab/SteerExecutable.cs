using System.Reflection;

namespace Steer.Lab;

/// <summary>
/// How to run the <c>steer</c> program again as a child process (the lab runs the gateway, the client and the
/// helper servers as <c>steer</c> subcommands inside the namespaces).
/// </summary>
/// <remarks>
/// Start a child with <see cref="FileName"/> and <see cref="GetArguments"/>, e.g.
/// <c>LabProcess.Start(ns, steer.FileName, steer.GetArguments("lab", "http-server", "--port", "80"))</c>.
/// </remarks>
public sealed class SteerExecutable
{
    private const string SteerAssemblyName = "steer";

    private SteerExecutable(string fileName, IReadOnlyList<string> prefixArguments)
    {
        FileName = fileName;
        PrefixArguments = prefixArguments;
    }

    /// <summary>The program to start: the <c>steer</c> executable, or the <c>dotnet</c> host.</summary>
    public string FileName { get; }

    /// <summary>Arguments that come before steer's own arguments: <c>[path/to/steer.dll]</c> under the dotnet host, else empty.</summary>
    public IReadOnlyList<string> PrefixArguments { get; }

    /// <summary>
    /// Finds how to run steer, in this order:
    /// <list type="number">
    /// <item>the <c>STEER_EXE</c> environment variable: a path to the steer executable, or to <c>steer.dll</c> (run with the dotnet host);</item>
    /// <item>this process, when it is steer: <c>(dotnet, [steer.dll])</c> when <see cref="Environment.ProcessPath"/> is the dotnet host, else <c>(ProcessPath, [])</c>;</item>
    /// <item><c>steer</c> or <c>steer.dll</c> next to this program (<see cref="AppContext.BaseDirectory"/>), e.g. in a test project that references the CLI.</item>
    /// </list>
    /// </summary>
    /// <returns>How to run steer.</returns>
    /// <exception cref="LabException"><c>STEER_EXE</c> names a missing file, or steer cannot be found.</exception>
    public static SteerExecutable Resolve()
    {
        string? overridePath = Environment.GetEnvironmentVariable(LabNames.SteerExeVariable);
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            string fullPath = Path.GetFullPath(overridePath);
            if (!File.Exists(fullPath))
            {
                throw new LabException($"{LabNames.SteerExeVariable} is set to '{overridePath}', which does not exist.");
            }

            return FromPath(fullPath);
        }

        string? processPath = Environment.ProcessPath;
        string? entryName = Assembly.GetEntryAssembly()?.GetName().Name;
        if (processPath is not null && string.Equals(entryName, SteerAssemblyName, StringComparison.OrdinalIgnoreCase))
        {
            return IsDotnetHost(processPath)
                ? new SteerExecutable(processPath, [Path.Combine(AppContext.BaseDirectory, entryName + ".dll")])
                : new SteerExecutable(processPath, []);
        }

        string appHost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "steer.exe" : SteerAssemblyName);
        string dll = Path.Combine(AppContext.BaseDirectory, SteerAssemblyName + ".dll");
        if (File.Exists(dll))
        {
            // Prefer the dll under the dotnet host: it works whether or not an apphost was copied and needs no DOTNET_ROOT.
            return FromPath(dll);
        }

        if (File.Exists(appHost))
        {
            return FromPath(appHost);
        }

        throw new LabException(
            $"cannot find the steer executable next to {AppContext.BaseDirectory}: set {LabNames.SteerExeVariable} to the path of steer or steer.dll.");
    }

    /// <summary>Returns <see cref="PrefixArguments"/> followed by <paramref name="arguments"/>.</summary>
    /// <param name="arguments">steer's own arguments, e.g. <c>lab http-server --port 80</c>.</param>
    /// <returns>The full argument list for <see cref="FileName"/>.</returns>
    public IReadOnlyList<string> GetArguments(params IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        return [.. PrefixArguments, .. arguments];
    }

    /// <summary>The command line, for messages.</summary>
    /// <returns><see cref="FileName"/> followed by <see cref="PrefixArguments"/>.</returns>
    public override string ToString() => string.Join(' ', [FileName, .. PrefixArguments]);

    private static SteerExecutable FromPath(string path)
        => path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new SteerExecutable(FindDotnetHost(), [path])
            : new SteerExecutable(path, []);

    private static bool IsDotnetHost(string path)
        => string.Equals(Path.GetFileNameWithoutExtension(path), "dotnet", StringComparison.OrdinalIgnoreCase);

    private static string FindDotnetHost()
    {
        if (Environment.ProcessPath is { } processPath && IsDotnetHost(processPath))
        {
            return processPath;
        }

        // Set by the SDK for the processes it starts (dotnet test, dotnet run).
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root)
        {
            string candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return LabPrerequisites.FindExecutable("dotnet") ?? "dotnet";
    }
}
