namespace Steer.Protocol.Dtls;

/// <summary>
/// A datagram adapter that can hold the records BouncyCastle writes and send them together: the channel's sender
/// thread opens a batch, lets <c>DtlsTransport.Send</c> write every queued record into the adapter, and ends the
/// batch, which flushes them with one <c>sendmmsg</c>. Sends from other threads (handshake, alerts) go out at once.
/// </summary>
internal interface IDatagramBatching
{
    /// <summary>From now on, sends from the calling thread are held until <see cref="EndBatch"/> (or a full batch).</summary>
    void BeginBatch();

    /// <summary>Sends what the batch holds and returns to sending at once.</summary>
    void EndBatch();
}
