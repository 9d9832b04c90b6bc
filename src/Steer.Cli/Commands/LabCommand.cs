using System.CommandLine;

namespace Steer.Cli.Commands;

/// <summary><c>steer lab</c>: network-namespace lab (filled in with Steer.Lab).</summary>
internal static class LabCommand
{
    public static Command Create() => new("lab", "Run Steer's self-contained lab in network namespaces.");
}
