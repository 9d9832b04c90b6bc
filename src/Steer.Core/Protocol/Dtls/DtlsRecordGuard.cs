using System.Buffers.Binary;

namespace Steer.Protocol.Dtls;

/// <summary>
/// Counts, and where it can tell for sure drops before BouncyCastle sees them, the datagrams a DTLS data channel
/// discards: garbage that is not whole DTLS records (among it two shapes that would hurt BouncyCastle, see
/// <see cref="IsWholeRecords"/>), replayed application-data records, and records that fail authentication.
/// BouncyCastle's record layer already drops all three, but silently (its <c>DtlsReplayWindow</c>
/// and MAC check have no counters), and issue 3 asks for them to be counted.
/// </summary>
/// <remarks>
/// <para>
/// The datagram adapter calls <see cref="Inspect"/> for every datagram before handing it to BouncyCastle, on the
/// channel's receive thread; the channel calls <see cref="Confirm"/> on the same thread each time
/// <c>DtlsTransport.Receive</c> returned a record. A datagram handed out and never confirmed was dropped inside
/// BouncyCastle (failed authentication, or its own replay check).
/// </para>
/// <para>
/// The replay window (RFC 6347 §4.1.2.6: the highest sequence number seen and a 64-bit bitmap below it) advances only
/// on confirmed records, so a forged record with a high sequence number cannot push genuine ones out of the window.
/// Only application-data records of epoch 1 and later are tracked, by the first record of their datagram (BouncyCastle
/// sends one record per datagram; were several coalesced, they would have arrived, and would be replayed, together);
/// handshake flights (epoch 0, and the Finished of epoch 1), alerts and change_cipher_spec are left to BouncyCastle.
/// </para>
/// </remarks>
internal sealed class DtlsRecordGuard
{
    private const int HeaderLength = 13;
    private const byte ApplicationData = 23;
    private const int WindowSize = 64;

    private readonly DtlsRecordCounters _counters;
    private int _minimumProtectedBody = 16;

    // Window of the newest confirmed epoch.
    private int _epoch = -1;
    private ulong _highest;
    private ulong _bitmap;

    // The tracked datagram handed to BouncyCastle and not yet confirmed.
    private bool _pending;
    private int _pendingEpoch;
    private ulong _pendingSequence;

    /// <param name="counters">Where the drops are counted (may be shared by several channels, e.g. a gateway's sessions).</param>
    public DtlsRecordGuard(DtlsRecordCounters? counters = null) => _counters = counters ?? new DtlsRecordCounters();

    /// <summary>The counters this guard adds to.</summary>
    public DtlsRecordCounters Counters => _counters;

    /// <summary>
    /// Records of epoch 1 and later with a shorter body are dropped as garbage: BouncyCastle fails the whole session
    /// with a fatal decode_error on them (its "ignore corrupt records" covers bad MACs only), so one forged datagram
    /// would end the channel. Set from the negotiated suite (<see cref="SteerDtlsPeers.MinimumProtectedBody"/>)
    /// after the handshake. Defaults to 16, the smallest over Steer's suites.
    /// </summary>
    public int MinimumProtectedBody
    {
        get => Volatile.Read(ref _minimumProtectedBody);
        set => Volatile.Write(ref _minimumProtectedBody, value);
    }

    /// <summary>
    /// Looks at a datagram before it goes to BouncyCastle. False: drop it here (garbage or a replay, counted);
    /// true: hand it over.
    /// </summary>
    public bool Inspect(ReadOnlySpan<byte> datagram)
    {
        SettlePending();
        if (!IsWholeRecords(datagram, MinimumProtectedBody))
        {
            _counters.Garbage();
            return false;
        }

        int epoch = BinaryPrimitives.ReadUInt16BigEndian(datagram[3..]);
        if (datagram[0] != ApplicationData || epoch == 0)
        {
            return true; // handshake, alert, change_cipher_spec: BouncyCastle's business
        }

        ulong sequence = ReadUInt48(datagram[5..]);
        if (epoch == _epoch && IsReplay(sequence))
        {
            _counters.Replayed();
            return false;
        }

        _pending = true;
        _pendingEpoch = epoch;
        _pendingSequence = sequence;
        return true;
    }

    /// <summary>BouncyCastle returned a record: the datagram handed out last was authentic; enter it in the window.</summary>
    public void Confirm()
    {
        if (!_pending)
        {
            return;
        }

        _pending = false;
        if (_pendingEpoch > _epoch)
        {
            _epoch = _pendingEpoch;
            _highest = _pendingSequence;
            _bitmap = 1;
            return;
        }

        if (_pendingEpoch < _epoch)
        {
            return;
        }

        if (_pendingSequence > _highest)
        {
            ulong shift = _pendingSequence - _highest;
            _bitmap = shift >= WindowSize ? 1 : (_bitmap << (int)shift) | 1;
            _highest = _pendingSequence;
        }
        else
        {
            _bitmap |= 1UL << (int)(_highest - _pendingSequence);
        }
    }

    /// <summary>The receive call ended without a record (timeout): a datagram handed out since was dropped inside BouncyCastle.</summary>
    public void OnReceiveTimeout() => SettlePending();

    private void SettlePending()
    {
        if (_pending)
        {
            _pending = false;
            _counters.Rejected();
        }
    }

    private bool IsReplay(ulong sequence)
    {
        if (sequence > _highest)
        {
            return false;
        }

        ulong age = _highest - sequence;
        return age >= WindowSize || (_bitmap & (1UL << (int)age)) != 0;
    }

    /// <summary>
    /// True when the datagram is one or more whole DTLS 1.0/1.2 records: each header has a content type TLS defines,
    /// a DTLS version and a length that fits, a protected record (epoch 1 and later) is at least
    /// <paramref name="minimumProtectedBody"/> long, and nothing is left over. BouncyCastle would drop most of what
    /// fails here anyway, but two shapes hurt it: a protected record shorter than nonce plus tag ends the session
    /// (fatal decode_error), and 1–12 bytes left after the last record stay in its record queue for good, so that
    /// every later receive returns nothing (the channel goes deaf).
    /// </summary>
    private static bool IsWholeRecords(ReadOnlySpan<byte> datagram, int minimumProtectedBody)
    {
        if (datagram.IsEmpty)
        {
            return false;
        }

        while (!datagram.IsEmpty)
        {
            if (datagram.Length < HeaderLength
                || datagram[0] is < 20 or > 24
                || datagram[1] != 254 || datagram[2] is not (253 or 255))
            {
                return false;
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[11..]);
            bool isProtected = BinaryPrimitives.ReadUInt16BigEndian(datagram[3..]) != 0;
            if (HeaderLength + length > datagram.Length || (isProtected && length < minimumProtectedBody))
            {
                return false;
            }

            datagram = datagram[(HeaderLength + length)..];
        }

        return true;
    }

    private static ulong ReadUInt48(ReadOnlySpan<byte> bytes) =>
        ((ulong)BinaryPrimitives.ReadUInt16BigEndian(bytes) << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]);
}
