namespace Steer.Tun.Journal;

/// <summary>The OS-specific half of undoing: each router knows how to undo the changes it journals.</summary>
internal interface IChangeUndoer
{
    /// <summary>Undoes one change.</summary>
    /// <returns>
    /// <see langword="null"/> when the change was undone, or why there was nothing to undo (for example "No such
    /// device (ENODEV)": the interface, and with it its addresses and routes, is gone).
    /// </returns>
    /// <exception cref="TunException">The change could not be undone.</exception>
    string? Undo(RouterChange change);
}
