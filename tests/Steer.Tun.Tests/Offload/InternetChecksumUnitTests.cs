using System.Buffers.Binary;
using Steer.Tun.Linux.Offload;

namespace Steer.Tun.Tests.Offload;

public sealed class InternetChecksumUnitTests
{
    [Fact]
    public void Sum_Rfc1071Example_MatchesPublishedValue()
    {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        byte[] data = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7];

        Assert.Equal(0xDDF2, InternetChecksum.Sum(data));
        Assert.Equal(0x220D, InternetChecksum.Compute(data));
    }

    [Fact]
    public void Sum_Empty_IsZeroOrInitial()
    {
        Assert.Equal(0, InternetChecksum.Sum([]));
        Assert.Equal(0x1234, InternetChecksum.Sum([], 0x1234));
        Assert.Equal(0xFFFF, InternetChecksum.Compute([]));
    }

    [Fact]
    public void Sum_OddLength_PadsTheLastByteAsHighByte()
    {
        Assert.Equal(0xAB00, InternetChecksum.Sum([0xAB]));
        Assert.Equal(0x0102 + 0x0300, InternetChecksum.Sum([0x01, 0x02, 0x03]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    public void Sum_RandomLengthsAndAlignments_MatchesReference(int seed)
    {
        var random = new Random(seed);
        byte[] pool = new byte[4096 + 16];
        for (int iteration = 0; iteration < 3_000; iteration++)
        {
            random.NextBytes(pool);
            int length = iteration < 300 ? iteration : random.Next(0, 4096);
            int offset = random.Next(0, 16); // vector loads at every misalignment
            ReadOnlySpan<byte> data = pool.AsSpan(offset, length);
            ushort initial = (ushort)random.Next(0, 0x10000);

            Assert.Equal(OffloadTestPackets.ReferenceSum(data), InternetChecksum.Sum(data));
            Assert.Equal(OffloadTestPackets.ReferenceSum(data, initial), InternetChecksum.Sum(data, initial));
        }
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0xFF)]
    [InlineData(0x80)]
    public void Sum_64KiBOfOneByte_WorstCaseCarriesMatchReference(byte fill)
    {
        byte[] data = new byte[65_536 + 9];
        Array.Fill(data, fill);
        foreach (int length in new[] { 65_535, 65_536, 65_545 })
        {
            Assert.Equal(OffloadTestPackets.ReferenceSum(data.AsSpan(0, length)), InternetChecksum.Sum(data.AsSpan(0, length)));
        }
    }

    [Fact]
    public void Sum_LargeInitialValues_AreFolded()
    {
        byte[] data = [0xFF, 0xFF, 0xFF, 0xFF];

        Assert.Equal(OffloadTestPackets.ReferenceSum(data, 0xFFFF), InternetChecksum.Sum(data, 0xFFFF));
        Assert.Equal(InternetChecksum.Fold(0xFFFF_FFFFUL + 0xFFFF + 0xFFFF), InternetChecksum.Sum(data, uint.MaxValue));
    }

    [Fact]
    public void Fold_RandomValues_AgreesWithModularDefinition()
    {
        var random = new Random(3);
        ulong[] edges = [0, 1, 0xFFFF, 0x10000, 0x1FFFE, 0x1FFFF, 0xFFFF_FFFF, 0x1_0000_0000, ulong.MaxValue, ulong.MaxValue - 1];
        foreach (ulong value in edges.Concat(Enumerable.Range(0, 10_000).Select(_ => (ulong)random.NextInt64() * 3)))
        {
            // One's-complement folding keeps the value modulo 0xFFFF and never turns a non-zero sum into 0.
            ulong expected = value == 0 ? 0 : 1 + ((value - 1) % 0xFFFF);
            Assert.Equal(expected, InternetChecksum.Fold(value));
        }
    }

    [Fact]
    public void PseudoHeaderSum_IPv4AndIPv6_MatchesExplicitPseudoHeader()
    {
        var random = new Random(5);
        for (int i = 0; i < 500; i++)
        {
            byte[] source = new byte[i % 2 == 0 ? 4 : 16];
            byte[] destination = new byte[source.Length];
            random.NextBytes(source);
            random.NextBytes(destination);
            byte protocol = (byte)random.Next(0, 256);
            int length = random.Next(0, i % 2 == 0 ? 0x10000 : 0x20000);

            Assert.Equal(
                OffloadTestPackets.ReferencePseudoHeaderSum(source, destination, protocol, length),
                InternetChecksum.PseudoHeaderSum(source, destination, protocol, length));
        }
    }

    [Fact]
    public void Compute_StoredIntoHeader_MakesItVerify()
    {
        byte[] header = Convert.FromHexString("450000730000400040110000c0a80001c0a800c7");
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), InternetChecksum.Compute(header));

        Assert.Equal(0xB861, BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(10))); // the well-known example header
        Assert.Equal(0xFFFF, OffloadTestPackets.ReferenceSum(header));
    }
}
