using System.Security.Cryptography;
using Steer.Selection;

namespace Steer.Core.Tests.Selection;

public sealed class ProbeMessageTests
{
    [Fact]
    public void Request_answered_by_the_gateway_helper_reads_back_sequence_and_timestamp()
    {
        byte[] nonce = RandomNumberGenerator.GetBytes(ProbeMessage.NonceLength);
        byte[] datagram = new byte[ProbeMessage.Length];
        Assert.Equal(36, ProbeMessage.WriteRequest(datagram, 7, 123456789, nonce));
        Assert.Equal("STP1"u8.ToArray(), datagram[..4]);
        Assert.True(ProbeMessage.IsRequest(datagram));

        // The gateway answers in place, as its receive loop would.
        Assert.True(ProbeMessage.TryWriteAnswer(datagram, datagram, out int written));
        Assert.Equal(ProbeMessage.Length, written);
        Assert.Equal("STP2"u8.ToArray(), datagram[..4]);

        Assert.True(ProbeMessage.TryReadAnswer(datagram, nonce, out ulong sequence, out long timestamp));
        Assert.Equal(7UL, sequence);
        Assert.Equal(123456789L, timestamp);
    }

    [Fact]
    public void Answer_with_another_nonce_magic_or_length_is_refused()
    {
        byte[] nonce = RandomNumberGenerator.GetBytes(ProbeMessage.NonceLength);
        byte[] answer = new byte[ProbeMessage.Length];
        ProbeMessage.WriteRequest(answer, 1, 2, nonce);
        Assert.False(ProbeMessage.TryReadAnswer(answer, nonce, out _, out _)); // still STP1: a probe, not an answer

        ProbeMessage.TryWriteAnswer(answer, answer, out _);
        byte[] otherNonce = (byte[])nonce.Clone();
        otherNonce[15] ^= 1;
        Assert.False(ProbeMessage.TryReadAnswer(answer, otherNonce, out _, out _));
        Assert.False(ProbeMessage.TryReadAnswer(answer.AsSpan(0, 35), nonce, out _, out _));
        Assert.False(ProbeMessage.TryReadAnswer([.. answer, 0], nonce, out _, out _));
        Assert.True(ProbeMessage.TryReadAnswer(answer, nonce, out _, out _));
    }

    [Theory]
    [InlineData("STP1", 0, true)]
    [InlineData("STP1", 60, true)]
    [InlineData("STP1", 61, false)]
    [InlineData("STP", 0, false)]
    [InlineData("STP2", 32, false)]
    [InlineData("\u0016\u00fe\u00fd\u0000", 32, false)] // a DTLS handshake record
    public void IsRequest_accepts_the_magic_and_up_to_60_more_bytes(string magic, int body, bool expected)
    {
        byte[] datagram = [.. magic.Select(c => (byte)c), .. new byte[body]];
        Assert.Equal(expected, ProbeMessage.IsRequest(datagram));
        Assert.Equal(expected, ProbeMessage.TryWriteAnswer(datagram, new byte[128], out int written));
        Assert.Equal(expected ? datagram.Length : 0, written);
    }

    [Fact]
    public void Answer_is_never_longer_than_the_probe_and_needs_room()
    {
        byte[] probe = [.. "STP1"u8, 1, 2, 3];
        Assert.False(ProbeMessage.TryWriteAnswer(probe, new byte[6], out _));
        byte[] answer = new byte[64];
        Assert.True(ProbeMessage.TryWriteAnswer(probe, answer, out int written));
        Assert.Equal(7, written);
        Assert.Equal([.. "STP2"u8, 1, 2, 3], answer[..written]);
    }

    [Fact]
    public void WriteRequest_checks_its_arguments()
    {
        Assert.Throws<ArgumentException>(() => ProbeMessage.WriteRequest(new byte[35], 0, 0, new byte[16]));
        Assert.Throws<ArgumentException>(() => ProbeMessage.WriteRequest(new byte[36], 0, 0, new byte[15]));
    }
}
