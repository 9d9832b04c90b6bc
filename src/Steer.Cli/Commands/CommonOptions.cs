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
