using System.Net;

namespace Steer.Policy;

/// <summary>
/// The destinations to route into the TUN for one protocol and port range whose decisions differ from the rest of
/// the traffic (see <see cref="RouteSet.PortClasses"/>).
/// </summary>
public sealed class PortRouteSet
{
    internal PortRouteSet(int protocol, int firstPort, int lastPort, IReadOnlyList<IPNetwork> prefixes)
    {
        Protocol = protocol;
        FirstPort = firstPort;
        LastPort = lastPort;
        Prefixes = prefixes;
    }

    /// <summary>6 (TCP) or 17 (UDP).</summary>
    public int Protocol { get; }

    /// <summary>The first destination port of the range.</summary>
    public int FirstPort { get; }

    /// <summary>The last destination port of the range (inclusive).</summary>
    public int LastPort { get; }

    /// <summary>The minimal, sorted list of prefixes that go into the TUN for this protocol and these ports.</summary>
    public IReadOnlyList<IPNetwork> Prefixes { get; }

    /// <summary>Returns "tcp/80-90: 3 prefixes".</summary>
    /// <returns>The class and the number of prefixes.</returns>
    public override string ToString() =>
        $"{(Protocol == PolicyRule.Tcp ? "tcp" : "udp")}/{(FirstPort == LastPort ? $"{FirstPort}" : $"{FirstPort}-{LastPort}")}: {Prefixes.Count} prefixes";
}
