using Steer.Protocol.Dtls;

namespace Steer.Core.Tests.Protocol;

public sealed class DtlsRecordGuardTests
{
    /// <summary>A datagram holding one DTLS 1.2 record: header (type, version 254.253, epoch, 48-bit sequence, length) and body.</summary>
    private static byte[] Record(int epoch, long sequence, byte type = 23, int body = 40)
    {
        byte[] d = new byte[13 + body];
        d[0] = type;
        d[1] = 254;
        d[2] = 253;
        d[3] = (byte)(epoch >> 8);
        d[4] = (byte)epoch;
        for (int i = 0; i < 6; i++)
        {
            d[5 + i] = (byte)(sequence >> (8 * (5 - i)));
        }

        d[11] = (byte)(body >> 8);
        d[12] = (byte)body;
        return d;
    }

    /// <summary>Hands a datagram over as the adapter does and, when BouncyCastle "accepts" it, confirms it as the channel does.</summary>
    private static bool Deliver(DtlsRecordGuard guard, byte[] datagram, bool authentic = true)
    {
        if (!guard.Inspect(datagram))
        {
            return false;
        }

        if (authentic)
        {
            guard.Confirm();
        }

        return true;
    }

    [Fact]
    public void Inspect_SameSequenceTwice_DropsTheSecondAsReplay()
    {
        var guard = new DtlsRecordGuard();
        Assert.True(Deliver(guard, Record(1, 5)));
        Assert.False(Deliver(guard, Record(1, 5)));
        Assert.Equal(1, guard.Counters.ReplayedDropped);
    }

    [Fact]
    public void Inspect_OutOfOrderWithinWindow_AcceptsEachOnce()
    {
        var guard = new DtlsRecordGuard();
        long[] order = [10, 7, 12, 8, 11, 9, 70, 20];
        foreach (long sequence in order)
        {
            Assert.True(Deliver(guard, Record(1, sequence)), $"first copy of {sequence}");
        }

        // 70 moved the window to 7..70: every one of them again is a replay; 6 is older than the window.
        foreach (long sequence in order.Append(6))
        {
            Assert.False(Deliver(guard, Record(1, sequence)), $"second copy of {sequence}");
        }

        Assert.Equal(order.Length + 1, guard.Counters.ReplayedDropped);
        Assert.True(Deliver(guard, Record(1, 30)), "a new one inside the window");
        Assert.True(Deliver(guard, Record(1, 1L << 40)), "a jump far ahead");
        Assert.False(Deliver(guard, Record(1, 70)), "now older than the window");
    }

    [Fact]
    public void Inspect_ForgedRecordFarAhead_DoesNotMoveTheWindow()
    {
        var guard = new DtlsRecordGuard();
        Assert.True(Deliver(guard, Record(1, 100)));

        // Not authentic: BouncyCastle drops it, the channel never confirms it.
        Assert.True(guard.Inspect(Record(1, 1_000_000)));
        Assert.True(Deliver(guard, Record(1, 101)), "the genuine next record still passes");
        Assert.Equal(1, guard.Counters.RejectedDropped);

        Assert.True(guard.Inspect(Record(1, 2_000_000)));
        guard.OnReceiveTimeout();
        Assert.Equal(2, guard.Counters.RejectedDropped);
        Assert.True(Deliver(guard, Record(1, 99)), "99 was never received");
        Assert.Equal(0, guard.Counters.ReplayedDropped);
    }

    [Fact]
    public void Inspect_NewEpoch_StartsAFreshWindowAndOldEpochIsNotTracked()
    {
        var guard = new DtlsRecordGuard();
        Assert.True(Deliver(guard, Record(1, 5)));
        Assert.True(Deliver(guard, Record(2, 5)), "same sequence number in the next epoch");
        Assert.False(Deliver(guard, Record(2, 5)));
        Assert.True(guard.Inspect(Record(1, 5)), "an old epoch is BouncyCastle's to drop");
    }

    [Theory]
    [InlineData(22, 0)] // handshake
    [InlineData(22, 1)] // Finished
    [InlineData(21, 1)] // alert
    [InlineData(23, 0)] // application data in epoch 0 (BouncyCastle refuses it)
    public void Inspect_RecordsOtherThanApplicationData_AreLeftToBouncyCastle(byte type, int epoch)
    {
        var guard = new DtlsRecordGuard();
        Assert.True(Deliver(guard, Record(epoch, 3, type)));
        Assert.True(Deliver(guard, Record(epoch, 3, type)), "not tracked, so never a replay here");
        Assert.Equal(0, guard.Counters.ReplayedDropped);
    }

    [Fact]
    public void Inspect_TwoRecordsInOneDatagram_AreTrackedByTheFirst()
    {
        var guard = new DtlsRecordGuard();
        byte[] two = [.. Record(1, 4), .. Record(1, 5)];
        Assert.True(Deliver(guard, two));
        Assert.False(Deliver(guard, two));
        Assert.Equal(1, guard.Counters.ReplayedDropped);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 23, 254, 253, 0, 1, 0, 0, 0, 0, 0, 1, 0 })] // 12 bytes: shorter than a header
    [InlineData(new byte[] { 99, 254, 253, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0 })] // unknown content type
    [InlineData(new byte[] { 23, 3, 3, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0 })] // TLS, not DTLS, version
    [InlineData(new byte[] { 23, 254, 253, 0, 1, 0, 0, 0, 0, 0, 1, 0, 9, 1, 2 })] // length beyond the datagram
    public void Inspect_NotADtlsRecord_IsDroppedAsGarbage(byte[] datagram)
    {
        var guard = new DtlsRecordGuard();
        Assert.False(guard.Inspect(datagram));
        Assert.Equal(1, guard.Counters.GarbageDropped);
    }

    [Theory]
    [InlineData(22, 1)]
    [InlineData(21, 1)]
    [InlineData(23, 1)]
    [InlineData(23, 2)]
    public void Inspect_ProtectedRecordShorterThanNonceAndTag_IsDroppedAsGarbage(byte type, int epoch)
    {
        var guard = new DtlsRecordGuard { MinimumProtectedBody = SteerDtlsPeers.MinimumProtectedBody(Org.BouncyCastle.Tls.CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256) };
        Assert.False(guard.Inspect(Record(epoch, 9, type, body: 23)));
        Assert.Equal(1, guard.Counters.GarbageDropped);
        Assert.True(guard.Inspect(Record(epoch, 9, type, body: 24)));
        Assert.True(guard.Inspect(Record(0, 9, type, body: 1)), "epoch 0 is not protected: any length");
    }

    [Fact]
    public void MinimumProtectedBody_PerSuite_IsExplicitNoncePlusTag()
    {
        Assert.Equal(24, SteerDtlsPeers.MinimumProtectedBody(Org.BouncyCastle.Tls.CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256));
        Assert.Equal(16, SteerDtlsPeers.MinimumProtectedBody(Org.BouncyCastle.Tls.CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256));
        Assert.Equal(16, new DtlsRecordGuard().MinimumProtectedBody);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(12)]
    public void Inspect_BytesLeftAfterTheLastRecord_IsDroppedAsGarbage(int left)
    {
        // BouncyCastle would keep 1-12 left-over bytes in its record queue for good and never read the socket again.
        var guard = new DtlsRecordGuard();
        byte[] datagram = [.. Record(1, 4), .. new byte[left]];
        Assert.False(guard.Inspect(datagram));
        Assert.Equal(1, guard.Counters.GarbageDropped);
    }

    [Fact]
    public void Inspect_ShortProtectedRecordBehindAGoodOne_IsDroppedAsGarbage()
    {
        var guard = new DtlsRecordGuard { MinimumProtectedBody = 24 };
        byte[] datagram = [.. Record(1, 4, body: 40), .. Record(1, 5, body: 8)];
        Assert.False(guard.Inspect(datagram));
        Assert.Equal(1, guard.Counters.GarbageDropped);
    }

    [Fact]
    public void Counters_SharedByTwoGuards_AddUp()
    {
        var counters = new DtlsRecordCounters();
        var a = new DtlsRecordGuard(counters);
        var b = new DtlsRecordGuard(counters);
        Assert.True(Deliver(a, Record(1, 1)));
        Assert.True(Deliver(b, Record(1, 1)), "each peer has its own window");
        Assert.False(Deliver(a, Record(1, 1)));
        Assert.False(Deliver(b, Record(1, 1)));
        Assert.False(b.Inspect([1, 2, 3]));
        Assert.Equal(2, counters.ReplayedDropped);
        Assert.Equal(1, counters.GarbageDropped);
    }
}
