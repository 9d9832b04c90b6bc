using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Steer.Selection;

/// <summary>
/// The latency probe datagram a client sends to a gateway's UDP (DTLS) port, and the gateway's echo
/// (docs/selection.md).
/// </summary>
/// <remarks>
/// <para>
/// A probe is <c>"STP1"</c> followed by up to <see cref="MaxBodyLength"/> bytes. The gateway answers it without any
/// handshake (rate-limited) with the same bytes, the first four replaced by <c>"STP2"</c>; it never answers with more
/// bytes than it received, so it cannot amplify a spoofed probe. A DTLS record never starts with <c>'S'</c> (0x53),
/// so probes and DTLS share the port without ambiguity.
/// </para>
/// <para>
/// Steer's own probes are <see cref="Length"/> (36) bytes: magic (4) | sequence (8, big-endian) | send timestamp
/// (8, big-endian, opaque to the gateway) | nonce (16, random per probe round and gateway). The prober accepts an
/// answer only if it carries the nonce it sent, so stray or spoofed answers are ignored.
/// </para>
/// </remarks>
public static class ProbeMessage
{
    /// <summary>Length of the magic at the start of a probe or an answer: 4.</summary>
    public const int MagicLength = 4;

    /// <summary>The most bytes a probe may carry after its magic: 60.</summary>
    public const int MaxBodyLength = 60;

    /// <summary>The longest probe a gateway answers: <see cref="MagicLength"/> + <see cref="MaxBodyLength"/> = 64 bytes.</summary>
    public const int MaxLength = MagicLength + MaxBodyLength;

    /// <summary>Length of the nonce in Steer's probes: 16.</summary>
    public const int NonceLength = 16;

    /// <summary>Length of Steer's probes and answers: 4 + 8 + 8 + 16 = 36 bytes.</summary>
    public const int Length = MagicLength + sizeof(ulong) + sizeof(long) + NonceLength;

    private const int SequenceOffset = MagicLength;
    private const int TimestampOffset = SequenceOffset + sizeof(ulong);
    private const int NonceOffset = TimestampOffset + sizeof(long);

    /// <summary>The magic of a probe: ASCII <c>STP1</c>.</summary>
    public static ReadOnlySpan<byte> RequestMagic => "STP1"u8;

    /// <summary>The magic of an answer: ASCII <c>STP2</c>.</summary>
    public static ReadOnlySpan<byte> AnswerMagic => "STP2"u8;

    /// <summary>
    /// Gateway side: whether <paramref name="datagram"/> is a probe to answer, that is it starts with <c>STP1</c> and is
    /// at most <see cref="MaxLength"/> bytes long.
    /// </summary>
    /// <param name="datagram">A datagram received on the gateway's UDP port.</param>
    /// <returns>True for a probe.</returns>
    public static bool IsRequest(ReadOnlySpan<byte> datagram) =>
        datagram.Length is >= MagicLength and <= MaxLength && datagram.StartsWith(RequestMagic);

    /// <summary>
    /// Gateway side: writes the answer to a probe into <paramref name="destination"/>: the same bytes with the magic
    /// replaced by <c>STP2</c>. <paramref name="destination"/> may be the buffer that holds the probe.
    /// </summary>
    /// <param name="request">The received datagram.</param>
    /// <param name="destination">Where to write the answer; at least as long as <paramref name="request"/>.</param>
    /// <param name="written">The length of the answer (the length of the probe).</param>
    /// <returns>False, writing nothing, when <paramref name="request"/> is not a probe (<see cref="IsRequest"/>) or
    /// <paramref name="destination"/> is too short.</returns>
    public static bool TryWriteAnswer(ReadOnlySpan<byte> request, Span<byte> destination, out int written)
    {
        written = 0;
        if (!IsRequest(request) || destination.Length < request.Length)
        {
            return false;
        }

        request.CopyTo(destination);
        AnswerMagic.CopyTo(destination);
        written = request.Length;
        return true;
    }

    /// <summary>Client side: writes one of Steer's probes (<see cref="Length"/> bytes).</summary>
    /// <param name="destination">At least <see cref="Length"/> bytes.</param>
    /// <param name="sequence">The sample's sequence number, echoed by the gateway.</param>
    /// <param name="timestamp">The send time (for example <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>), echoed by the gateway.</param>
    /// <param name="nonce">Exactly <see cref="NonceLength"/> random bytes the answer must carry.</param>
    /// <returns><see cref="Length"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or <paramref name="nonce"/> has the wrong length.</exception>
    public static int WriteRequest(Span<byte> destination, ulong sequence, long timestamp, ReadOnlySpan<byte> nonce)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException($"A probe needs {Length} bytes.", nameof(destination));
        }

        if (nonce.Length != NonceLength)
        {
            throw new ArgumentException($"A probe nonce is {NonceLength} bytes.", nameof(nonce));
        }

        RequestMagic.CopyTo(destination);
        BinaryPrimitives.WriteUInt64BigEndian(destination[SequenceOffset..], sequence);
        BinaryPrimitives.WriteInt64BigEndian(destination[TimestampOffset..], timestamp);
        nonce.CopyTo(destination[NonceOffset..]);
        return Length;
    }

    /// <summary>
    /// Client side: checks an answer to one of Steer's probes and reads the echoed sequence and timestamp. Answers with
    /// another magic, another length or another nonce are refused.
    /// </summary>
    /// <param name="datagram">The received datagram.</param>
    /// <param name="expectedNonce">The nonce of the probes sent to this gateway in this round.</param>
    /// <param name="sequence">The echoed sequence number.</param>
    /// <param name="timestamp">The echoed send timestamp.</param>
    /// <returns>True when the datagram is an answer to a probe carrying <paramref name="expectedNonce"/>.</returns>
    public static bool TryReadAnswer(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> expectedNonce, out ulong sequence, out long timestamp)
    {
        sequence = 0;
        timestamp = 0;
        if (datagram.Length != Length || expectedNonce.Length != NonceLength || !datagram.StartsWith(AnswerMagic) ||
            !CryptographicOperations.FixedTimeEquals(datagram.Slice(NonceOffset, NonceLength), expectedNonce))
        {
            return false;
        }

        sequence = BinaryPrimitives.ReadUInt64BigEndian(datagram[SequenceOffset..]);
        timestamp = BinaryPrimitives.ReadInt64BigEndian(datagram[TimestampOffset..]);
        return true;
    }
}
