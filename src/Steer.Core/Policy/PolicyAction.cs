namespace Steer.Policy;

/// <summary>Where a packet or connection goes.</summary>
public enum PolicyAction
{
    /// <summary>The host's own path: the packet does not enter the tunnel.</summary>
    Direct,

    /// <summary>Through the tunnel to the gateway.</summary>
    Tunnel,
}
