namespace Steer.Protocol;

/// <summary>Traffic counters of one tunnel connection; updated without locks, read as a snapshot.</summary>
internal sealed class TunnelCounters
{
    private long _packetsSent;
    private long _bytesSent;
    private long _packetsReceived;
    private long _bytesReceived;
    private long _packetsDropped;

    public long PacketsSent => Volatile.Read(ref _packetsSent);

    public long BytesSent => Volatile.Read(ref _bytesSent);

    public long PacketsReceived => Volatile.Read(ref _packetsReceived);

    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    /// <summary>Packets dropped because the send queue was full or the connection was closing.</summary>
    public long PacketsDropped => Volatile.Read(ref _packetsDropped);

    public void Sent(int bytes)
    {
        Interlocked.Increment(ref _packetsSent);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    public void Received(int bytes)
    {
        Interlocked.Increment(ref _packetsReceived);
        Interlocked.Add(ref _bytesReceived, bytes);
    }

    public void Dropped() => Interlocked.Increment(ref _packetsDropped);
}
