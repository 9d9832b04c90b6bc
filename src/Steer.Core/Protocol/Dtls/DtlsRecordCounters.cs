namespace Steer.Protocol.Dtls;

/// <summary>Datagrams a DTLS data channel discarded, by reason; updated without locks (see <see cref="DtlsRecordGuard"/>).</summary>
internal sealed class DtlsRecordCounters
{
    private long _garbage;
    private long _replayed;
    private long _rejected;

    /// <summary>Datagrams that were no DTLS record (bad header or length).</summary>
    public long GarbageDropped => Interlocked.Read(ref _garbage);

    /// <summary>Application-data records whose sequence number was already received, or too old for the window.</summary>
    public long ReplayedDropped => Interlocked.Read(ref _replayed);

    /// <summary>Application-data records the DTLS layer discarded: failed authentication (forged, corrupted, wrong epoch).</summary>
    public long RejectedDropped => Interlocked.Read(ref _rejected);

    public void Garbage() => Interlocked.Increment(ref _garbage);

    public void Replayed() => Interlocked.Increment(ref _replayed);

    public void Rejected() => Interlocked.Increment(ref _rejected);
}
