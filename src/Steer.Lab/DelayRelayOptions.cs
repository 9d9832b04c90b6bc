using System.Net;

namespace Steer.Lab;

/// <summary>Options of a <see cref="DelayRelay"/>.</summary>
public sealed class DelayRelayOptions
{
    /// <summary>Where the relay listens, UDP and TCP on the same port. Port 0 picks a free port (the same for both).</summary>
    /// <remarks>Defaults to 127.0.0.1:0.</remarks>
    public IPEndPoint ListenEndPoint { get; set; } = new(IPAddress.Loopback, 0);

    /// <summary>Where the relay forwards to (UDP and TCP). Required.</summary>
    public IPEndPoint? Target { get; set; }

    /// <summary>The one-way delay added towards the target; change it at run time with <see cref="DelayRelay.SetDelay(TimeSpan)"/>.</summary>
    /// <remarks>Defaults to zero.</remarks>
    public TimeSpan DelayToTarget { get; set; }

    /// <summary>The one-way delay added towards the client.</summary>
    /// <remarks>Defaults to zero.</remarks>
    public TimeSpan DelayToClient { get; set; }

    /// <summary>Whether to relay UDP.</summary>
    /// <remarks>Defaults to true.</remarks>
    public bool Udp { get; set; } = true;

    /// <summary>Whether to relay TCP.</summary>
    /// <remarks>Defaults to true.</remarks>
    public bool Tcp { get; set; } = true;

    /// <summary>The most UDP datagrams waiting out their delay, both directions together; more are dropped and counted.</summary>
    /// <remarks>Defaults to 8192.</remarks>
    public int MaxQueuedDatagrams { get; set; } = 8192;

    /// <summary>
    /// The most TCP chunks (of up to 16 KiB) waiting per connection and direction; a full queue stops reading from the
    /// sender, so TCP flow control slows it down instead of dropping data.
    /// </summary>
    /// <remarks>Defaults to 256 (4 MiB).</remarks>
    public int MaxQueuedChunksPerDirection { get; set; } = 256;

    /// <summary>The most UDP client sessions (one per client address and port); datagrams of further clients are dropped.</summary>
    /// <remarks>Defaults to 1024.</remarks>
    public int MaxUdpSessions { get; set; } = 1024;

    /// <summary>How long a UDP session without traffic is kept.</summary>
    /// <remarks>Defaults to 60 seconds.</remarks>
    public TimeSpan UdpSessionTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The most TCP connections at once; further ones are closed at once.</summary>
    /// <remarks>Defaults to 256.</remarks>
    public int MaxTcpConnections { get; set; } = 256;

    /// <summary>How long the relay waits for its TCP connection to the target.</summary>
    /// <remarks>Defaults to 5 seconds.</remarks>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    internal void Validate(string argumentName)
    {
        if (ListenEndPoint is null || Target is null)
        {
            throw new ArgumentException($"{nameof(ListenEndPoint)} and {nameof(Target)} are required.", argumentName);
        }

        if (!Udp && !Tcp)
        {
            throw new ArgumentException($"At least one of {nameof(Udp)} and {nameof(Tcp)} must be true.", argumentName);
        }

        DelayRelay.ValidateDelay(DelayToTarget, argumentName);
        DelayRelay.ValidateDelay(DelayToClient, argumentName);
        if (MaxQueuedDatagrams < 1 || MaxQueuedChunksPerDirection < 1 || MaxUdpSessions < 1 || MaxTcpConnections < 1)
        {
            throw new ArgumentException("Queue and session limits must be at least 1.", argumentName);
        }

        if (UdpSessionTimeout <= TimeSpan.Zero || ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(UdpSessionTimeout)} and {nameof(ConnectTimeout)} must be positive.", argumentName);
        }
    }
}
