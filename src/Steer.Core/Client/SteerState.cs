namespace Steer;

/// <summary>Lifecycle states of a <see cref="SteerClient"/>.</summary>
public enum SteerState
{
    /// <summary>Not started, or stopped.</summary>
    Stopped,

    /// <summary>Connecting for the first time.</summary>
    Connecting,

    /// <summary>A tunnel is up and steered traffic flows through it.</summary>
    Connected,

    /// <summary>The tunnel was lost; the interface and routes stay while Steer reconnects.</summary>
    Reconnecting,

    /// <summary>Stopped because of an error that retrying cannot fix (see <see cref="SteerStatus.LastError"/>).</summary>
    Failed,
}
