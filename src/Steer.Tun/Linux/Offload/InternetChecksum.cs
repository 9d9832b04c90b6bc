using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Steer.Tun.Linux.Offload;

/// <summary>
/// The Internet checksum (RFC 1071) used by IPv4, TCP and UDP: the one's-complement sum of 16-bit big-endian words,
/// an odd last byte padded with a zero byte. Pure and allocation-free.
/// </summary>
/// <remarks>
/// The one's-complement sum does not depend on byte order (RFC 1071 §2(B)), so the data is summed as native 32-bit
/// words into a 64-bit accumulator (no carry handling inside the loop), 32 or 16 bytes at a time with
/// <see cref="Vector256"/> / <see cref="Vector128"/> where the hardware has them, and folded and byte-swapped once at
/// the end. All sums here are "network-order values": the 16-bit number a big-endian read of the checksum field gives.
/// </remarks>
internal static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> to <paramref name="initial"/> and returns the folded, not complemented, sum.</summary>
    /// <param name="data">Bytes to sum, starting at an even offset of the checksummed range.</param>
    /// <param name="initial">A partial sum to add (for example <see cref="PseudoHeaderSum"/>); any 32-bit value.</param>
    /// <returns>The 16-bit one's-complement sum as a network-order value.</returns>
    public static ushort Sum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        ushort native = Fold(SumNative(data));
        ushort network = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(native) : native;
        return Fold((ulong)network + initial);
    }

    /// <summary>The checksum to store in a header field: the complement of <see cref="Sum"/>.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data, uint initial = 0) => (ushort)~Sum(data, initial);

    /// <summary>
    /// The sum of the TCP/UDP pseudo-header: source and destination address (4 or 16 bytes each), the protocol number,
    /// and the transport length (header plus payload). The same formula serves IPv4 and IPv6 (RFC 8200 §8.1).
    /// </summary>
    public static ushort PseudoHeaderSum(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int transportLength)
    {
        uint partial = protocol + (uint)(transportLength >> 16) + (uint)(transportLength & 0xFFFF);
        return Sum(destination, Sum(source, partial));
    }

    /// <summary>Folds a 64-bit accumulator to 16 bits with end-around carries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>Sums native-order 32-bit words (then a 16-bit word and a padded byte) into a 64-bit accumulator.</summary>
    private static ulong SumNative(ReadOnlySpan<byte> data)
    {
        ref byte start = ref MemoryMarshal.GetReference(data);
        nuint length = (nuint)data.Length;
        nuint i = 0;
        ulong sum = 0;

        // Each 64-bit lane adds two 32-bit halves per step: up to 2^31 bytes cannot overflow it.
        if (Vector256.IsHardwareAccelerated && length >= 64)
        {
            Vector256<ulong> low = Vector256<ulong>.Zero;
            Vector256<ulong> high = Vector256<ulong>.Zero;
            Vector256<ulong> mask = Vector256.Create(0xFFFF_FFFFUL);
            for (; i + 32 <= length; i += 32)
            {
                Vector256<ulong> v = Vector256.LoadUnsafe(ref start, i).AsUInt64();
                low += v & mask;
                high += v >>> 32;
            }

            sum += Vector256.Sum(low) + Vector256.Sum(high);
        }
        else if (Vector128.IsHardwareAccelerated && length >= 32)
        {
            Vector128<ulong> low = Vector128<ulong>.Zero;
            Vector128<ulong> high = Vector128<ulong>.Zero;
            Vector128<ulong> mask = Vector128.Create(0xFFFF_FFFFUL);
            for (; i + 16 <= length; i += 16)
            {
                Vector128<ulong> v = Vector128.LoadUnsafe(ref start, i).AsUInt64();
                low += v & mask;
                high += v >>> 32;
            }

            sum += Vector128.Sum(low) + Vector128.Sum(high);
        }

        for (; i + 8 <= length; i += 8)
        {
            ulong v = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            sum += (v & 0xFFFF_FFFF) + (v >> 32);
        }

        if (i + 4 <= length)
        {
            sum += Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, i));
            i += 4;
        }

        if (i + 2 <= length)
        {
            sum += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref start, i));
            i += 2;
        }

        if (i < length)
        {
            // The odd last byte is the high byte of a big-endian word padded with zero: in native order that is the
            // low byte on a little-endian machine.
            uint last = Unsafe.Add(ref start, i);
            sum += BitConverter.IsLittleEndian ? last : last << 8;
        }

        return sum;
    }
}
