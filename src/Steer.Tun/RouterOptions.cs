namespace Steer.Tun;

/// <summary>Options of <see cref="Router.Create(RouterOptions, Microsoft.Extensions.Logging.ILogger?)"/>.</summary>
public sealed class RouterOptions
{
    /// <summary>The path the command-line client uses for its journal.</summary>
    public const string DefaultJournalPath = "/run/steer/router.journal";

    /// <summary>
    /// The on-disk crash journal, or <see langword="null"/> (the default) to keep the journal in memory only. Every
    /// change is appended to this file and flushed to disk before it is made, so that
    /// <see cref="Router.RecoverLeftovers"/> can undo what a killed process left behind; a router disposed cleanly
    /// deletes it. Missing directories are created with mode 0700. One router at a time may use a path (the file is
    /// locked while in use), and the journal must be recovered in the network namespace that wrote it. The command-line
    /// client uses <see cref="DefaultJournalPath"/>.
    /// </summary>
    public string? JournalPath { get; set; }
}
