using System.CommandLine;
using Steer.Cli.Commands;

namespace Steer.Cli;

/// <summary>Entry point of the <c>steer</c> command.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        StartupClock.MarkMain();
        var root = new RootCommand("Steer: steers this machine's traffic through a tenant's gateway over a pinned, encrypted tunnel.");
        root.Options.Add(CommonOptions.Verbose);
        root.Subcommands.Add(UpCommand.Create());
        root.Subcommands.Add(StatusCommand.CreateStatus());
        root.Subcommands.Add(StatusCommand.CreateDown());
        root.Subcommands.Add(ProbeCommand.Create());
        root.Subcommands.Add(PolicyCommand.Create());
        root.Subcommands.Add(GatewayCommand.Create());
        root.Subcommands.Add(LabCommand.Create());
        ParseResult parse = root.Parse(args);
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }
}
