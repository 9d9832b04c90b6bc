namespace Steer.Configuration;

/// <summary>What the client does with traffic while no gateway is reachable (JSON <c>failMode</c>).</summary>
public enum FailMode
{
    /// <summary>Traffic goes out directly, unsteered, until a gateway is reachable again (JSON <c>"open"</c>).</summary>
    Open,

    /// <summary>Steered traffic is blocked until a gateway is reachable again (JSON <c>"closed"</c>).</summary>
    Closed,
}
