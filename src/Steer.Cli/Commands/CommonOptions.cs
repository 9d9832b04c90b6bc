using System.CommandLine;

namespace Steer.Cli.Commands;

/// <summary>Options shared by several commands.</summary>
internal static class CommonOptions
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "More log output (debug level).", Recursive = true };

    public static Option<string> ControlSocket(string description) => new("--control-socket")
    {
        Description = description,
        DefaultValueFactory = _ => Control.ControlClient.DefaultPath,
    };

    /// <summary>Where <c>steer up</c> keeps its crash journal (shared by up and down --cleanup).</summary>
    public static readonly Option<string> StateDirectory = new("--state-dir")
    {
        Description = "Folder for the journal of host changes that lets 'steer down --cleanup' or the next 'steer up' undo what a killed steer left.",
        DefaultValueFactory = _ => "/run/steer",
    };

    /// <summary>The resolver file steer rewrites while up (Linux).</summary>
    public static readonly Option<string> ResolvConf = new("--resolv-conf")
    {
        Description = "Resolver file steer points at its DNS stub while up (Linux).",
        DefaultValueFactory = _ => "/etc/resolv.conf",
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON instead of text." };

    /// <summary>Runs a command body, turning known errors into one clear line on stderr and an exit code.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            await Console.Error.WriteLineAsync($"steer: {ex.Message}").ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (Exception ex) when (ExitCodes.Classify(ex) is { } code)
        {
            await Console.Error.WriteLineAsync($"steer: {ex.Message}").ConfigureAwait(false);
            return code;
        }
    }
}
