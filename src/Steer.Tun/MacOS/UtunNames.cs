using System.Globalization;

namespace Steer.Tun.MacOS;

/// <summary>
/// macOS names utun interfaces itself (<c>utun0</c>, <c>utun1</c>, ...): the only choice is the unit number, asked
/// for in <c>sockaddr_ctl.sc_unit</c> as N + 1 for utunN, or 0 for the next free one.
/// </summary>
internal static class UtunNames
{
    /// <summary>The prefix of every utun interface name.</summary>
    internal const string Prefix = "utun";

    /// <summary>Maps a requested interface name to the <c>sc_unit</c> to connect with.</summary>
    /// <param name="requestedName"><c>utunN</c> for a fixed unit, <c>utun%d</c> for the next free one; any other name
    /// cannot be honoured and also gets the next free one.</param>
    /// <param name="honoured">False when the name is not a utun name and macOS will choose one.</param>
    internal static uint UnitFor(string requestedName, out bool honoured)
    {
        ArgumentNullException.ThrowIfNull(requestedName);
        honoured = true;
        if (string.Equals(requestedName, Prefix + "%d", StringComparison.Ordinal))
        {
            return 0;
        }

        if (requestedName.StartsWith(Prefix, StringComparison.Ordinal)
            && requestedName.Length > Prefix.Length
            && requestedName.AsSpan(Prefix.Length).IndexOfAnyExceptInRange('0', '9') < 0
            && (requestedName.Length == Prefix.Length + 1 || requestedName[Prefix.Length] != '0')
            && uint.TryParse(requestedName.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out uint number)
            && number < uint.MaxValue)
        {
            return number + 1;
        }

        honoured = false;
        return 0;
    }
}
