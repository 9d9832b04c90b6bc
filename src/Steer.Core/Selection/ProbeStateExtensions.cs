namespace Steer.Selection;

/// <summary>Helpers for <see cref="ProbeState"/>.</summary>
public static class ProbeStateExtensions
{
    /// <summary>True for <see cref="ProbeState.Ok"/> and <see cref="ProbeState.TlsOnly"/>.</summary>
    /// <param name="state">The state.</param>
    /// <returns>Whether a gateway in this state can carry a tunnel.</returns>
    public static bool IsHealthy(this ProbeState state) => state is ProbeState.Ok or ProbeState.TlsOnly;

    /// <summary>
    /// The name used in <c>steer probe --json</c> and the table: <c>not-probed</c>, <c>ok</c>, <c>tls-only</c>,
    /// <c>slow</c>, <c>no-answer</c>, <c>refused</c>, <c>wrong-pin</c>, <c>tls-failed</c>, <c>unreachable</c>.
    /// </summary>
    /// <param name="state">The state.</param>
    /// <returns>The stable lower-case name.</returns>
    public static string ToWireName(this ProbeState state) => state switch
    {
        ProbeState.NotProbed => "not-probed",
        ProbeState.Ok => "ok",
        ProbeState.TlsOnly => "tls-only",
        ProbeState.Slow => "slow",
        ProbeState.NoAnswer => "no-answer",
        ProbeState.Refused => "refused",
        ProbeState.WrongPin => "wrong-pin",
        ProbeState.TlsFailed => "tls-failed",
        ProbeState.Unreachable => "unreachable",
        _ => state.ToString(),
    };
}
