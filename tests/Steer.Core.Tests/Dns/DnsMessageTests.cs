using System.Net;
using Steer.DnsStub;

namespace Steer.Core.Tests.Dns;

public sealed class DnsMessageTests
{
    // A response for www.example.com A written by hand from RFC 1035: a CNAME to example.com (name compressed with
    // pointers to offsets 12 and 16), then an A record for the CNAME target, then an OPT record.
    private static readonly byte[] s_handWritten =
    [
        0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
        3, (byte)'w', (byte)'w', (byte)'w', 7, (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 3, (byte)'c', (byte)'o', (byte)'m', 0,
        0x00, 0x01, 0x00, 0x01,
        0xC0, 12, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x02, 0xC0, 16,
        0xC0, 16, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2C, 0x00, 0x04, 192, 0, 2, 1,
        0x00, 0x00, 0x29, 0x04, 0xD0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
    ];

    [Fact]
    public void TryParse_HandWrittenResponse_AllFields()
    {
        Assert.True(DnsMessage.TryParse(s_handWritten, out DnsMessage? m, out string error), error);

        Assert.Equal(0x1234, m.Id);
        Assert.True(m.IsResponse);
        Assert.True(m.RecursionDesired);
        Assert.True(m.RecursionAvailable);
        Assert.Equal(DnsResponseCode.NoError, m.ResponseCode);
        Assert.Equal(new DnsQuestion("www.example.com", DnsRecordType.A), Assert.Single(m.Questions));
        Assert.Equal(2, m.Answers.Count);
        Assert.True(m.Answers[0].TryGetCanonicalName(out string? target));
        Assert.Equal("example.com", target);
        Assert.Equal("www.example.com", m.Answers[0].Name);
        Assert.Equal(60u, m.Answers[0].TimeToLive);
        Assert.True(m.Answers[1].TryGetAddress(out IPAddress? address));
        Assert.Equal(IPAddress.Parse("192.0.2.1"), address);
        Assert.Equal("example.com", m.Answers[1].Name);
        Assert.Equal(1232, m.Edns!.Class);
        Assert.Equal(0x8000u, m.Edns.TimeToLive); // DO bit
        Assert.Equal(1232, m.MaxUdpResponseSize);

        (IPAddress Address, TimeSpan Ttl) answer = Assert.Single(m.GetAnswerAddresses());
        Assert.Equal(IPAddress.Parse("192.0.2.1"), answer.Address);
        Assert.Equal(TimeSpan.FromSeconds(60), answer.Ttl); // the CNAME's shorter TTL
    }

    [Fact]
    public void ToArray_HandWrittenResponse_SameBytes()
    {
        Assert.True(DnsMessage.TryParse(s_handWritten, out DnsMessage? m, out _));

        Assert.Equal(s_handWritten, m.ToArray());
    }

    [Fact]
    public void ToArray_RepeatedNames_Compressed()
    {
        var m = new DnsMessage { Id = 1, IsResponse = true };
        m.Questions.Add(new DnsQuestion("host.corp.example.com", DnsRecordType.A));
        for (int i = 0; i < 10; i++)
        {
            m.Answers.Add(DnsResourceRecord.ForAddress("host.corp.example.com", IPAddress.Parse($"192.0.2.{i}"), 300));
        }

        m.Answers.Add(DnsResourceRecord.ForCanonicalName("alias.corp.example.com", "host.corp.example.com", 60));
        byte[] wire = m.ToArray();

        // Question name 23 bytes once; every other owner name and the CNAME target is a 2-byte pointer, plus "alias".
        Assert.Equal(12 + 23 + 4 + (10 * (2 + 10 + 4)) + (6 + 2 + 10 + 2), wire.Length);
        Assert.True(DnsMessage.TryParse(wire, out DnsMessage? back, out string error), error);
        Assert.Equal("alias.corp.example.com", back.Answers[^1].Name);
        Assert.True(back.Answers[^1].TryGetCanonicalName(out string? target));
        Assert.Equal("host.corp.example.com", target);
    }

    [Fact]
    public void GetAnswerAddresses_FollowsCnameChain_IgnoresUnrelatedRecords()
    {
        var m = new DnsMessage { IsResponse = true };
        m.Questions.Add(new DnsQuestion("a.example", DnsRecordType.AAAA));
        m.Answers.Add(DnsResourceRecord.ForCanonicalName("A.EXAMPLE.", "b.example", 100));
        m.Answers.Add(DnsResourceRecord.ForCanonicalName("b.example", "c.example", 50));
        m.Answers.Add(DnsResourceRecord.ForAddress("c.example", IPAddress.Parse("2001:db8::c"), 400));
        m.Answers.Add(DnsResourceRecord.ForAddress("unrelated.example", IPAddress.Parse("2001:db8::bad"), 400));
        m.Answers.Add(DnsResourceRecord.ForAddress("c.example", IPAddress.Parse("2001:db8::d"), 20));

        Assert.Equal([(IPAddress.Parse("2001:db8::c"), TimeSpan.FromSeconds(50)), (IPAddress.Parse("2001:db8::d"), TimeSpan.FromSeconds(20))],
            m.GetAnswerAddresses());
    }

    [Fact]
    public void Ttl_TopBitSet_CountsAsZero()
    {
        Assert.Equal(TimeSpan.Zero, DnsResourceRecord.ForAddress("x", IPAddress.Loopback, 0x8000_0000).Ttl);
    }

    [Fact]
    public void TryParse_PointerToItself_Refused()
    {
        byte[] m = Header(questions: 1);
        m = [.. m, 0xC0, 12, 0, 1, 0, 1];

        Assert.False(DnsMessage.TryParse(m, out _, out string error));
        Assert.Contains("compression pointer", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_PointerLoop_Refused()
    {
        // The question's name at 12: label "a" then a pointer to 21; the answer's name at 21 points back to 12.
        byte[] m = [.. Header(questions: 1, answers: 1), 1, (byte)'a', 0xC0, 21, 0, 1, 0, 1, 0, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4];

        Assert.False(DnsMessage.TryParse(m, out _, out string error));
        Assert.Contains("compression pointer", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_ForwardPointer_Refused()
    {
        byte[] m = [.. Header(questions: 1), 0xC0, 18, 0, 1, 0, 1, 0];

        Assert.False(DnsMessage.TryParse(m, out _, out string error));
        Assert.Contains("not an earlier name", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10, true)]
    [InlineData(63, true)]
    [InlineData(64, false)]
    [InlineData(200, false)]
    public void TryParse_LongPointerChain_Bounded(int chain, bool valid)
    {
        // Answer 0 (owner: root) carries opaque TXT data at offset 23: a root byte, then `chain` pointers, each to the
        // item before it. Answer 1's owner points to the last of them: chain + 1 pointers to follow.
        var rdata = new List<byte> { 0 };
        for (int i = 1; i <= chain; i++)
        {
            int target = i == 1 ? 23 : 24 + (2 * (i - 2));
            rdata.AddRange([(byte)(0xC0 | (target >> 8)), (byte)target]);
        }

        int last = 24 + (2 * (chain - 1));
        byte[] m = [.. Header(answers: 2), 0, 0, 16, 0, 1, 0, 0, 0, 0, (byte)(rdata.Count >> 8), (byte)rdata.Count, .. rdata,
            (byte)(0xC0 | (last >> 8)), (byte)last, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4];

        bool parsed = DnsMessage.TryParse(m, out DnsMessage? message, out string error);

        Assert.Equal(valid, parsed);
        if (valid)
        {
            Assert.Equal(".", message!.Answers[1].Name);
        }
        else
        {
            Assert.Contains("more than 64 compression pointers", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Labels_63Allowed_64Refused_OnReadAndWrite()
    {
        string label63 = new('x', 63);
        byte[] ok = DnsMessage.CreateQuery(1, label63 + ".example", DnsRecordType.A).ToArray();
        Assert.True(DnsMessage.TryParse(ok, out DnsMessage? m, out _));
        Assert.Equal(label63 + ".example", m.Questions[0].Name);

        Assert.Throws<InvalidOperationException>(() => DnsMessage.CreateQuery(1, label63 + "x.example", DnsRecordType.A).ToArray());

        byte[] wire64 = [.. Header(questions: 1), 64, .. new byte[64], 0, 0, 1, 0, 1];
        Assert.False(DnsMessage.TryParse(wire64, out _, out string error));
        Assert.Contains("label type", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_255BytesAllowed_256Refused_OnReadAndWrite()
    {
        // 4 labels of 62 bytes (63 on the wire each = 252), then the root: 253 bytes... plus one label "a" (2) = 255.
        string name255 = string.Join('.', Enumerable.Repeat(new string('n', 62), 4)) + ".a";
        byte[] ok = DnsMessage.CreateQuery(1, name255, DnsRecordType.A).ToArray();
        Assert.Equal(12 + 255 + 4, ok.Length);
        Assert.True(DnsMessage.TryParse(ok, out _, out string error), error);

        string name256 = string.Join('.', Enumerable.Repeat(new string('n', 62), 4)) + ".ab";
        Assert.Throws<InvalidOperationException>(() => DnsMessage.CreateQuery(1, name256, DnsRecordType.A).ToArray());

        // On the wire: 256 bytes through a pointer (a 200-byte name, and a 56-byte prefix pointing to it).
        byte[] wire = [.. Header(questions: 2), .. Labels(198), 0, 0, 1, 0, 1, .. Labels(57), 0xC0, 12, 0, 1, 0, 1];
        Assert.False(DnsMessage.TryParse(wire, out _, out error));
        Assert.Contains("longer than 255 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_EscapesRoundTrip()
    {
        string name = @"a\.b.c\\d.\000\255\032x.example";
        byte[] wire = DnsMessage.CreateQuery(7, name, DnsRecordType.TXT).ToArray();

        Assert.True(DnsMessage.TryParse(wire, out DnsMessage? m, out _));
        Assert.Equal(name, m.Questions[0].Name);
        Assert.Equal(wire, m.ToArray());
        Assert.Equal(12 + (1 + 3) + (1 + 3) + (1 + 4) + (1 + 7) + 1 + 4, wire.Length); // labels "a.b", "c\\d", bytes 0 255 32 'x', "example"
    }

    [Theory]
    [InlineData(new byte[0], "shorter than the 12-byte")]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, "more than 12 bytes can hold")]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99 }, "1 bytes follow the last record")]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3 }, "A record with 3 bytes")]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1, 2, 3 }, "run past the end")]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0 }, "more than one OPT")]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0 }, "OPT record outside")]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 2, 0xC0, 40 }, "CNAME record data")]
    public void TryParse_Malformed_FalseWithReason(byte[] data, string expected)
    {
        Assert.False(DnsMessage.TryParse(data, out DnsMessage? m, out string error));
        Assert.Null(m);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_CompressedNamesInRecordData_StoredUncompressed()
    {
        // MX 10 mail.<pointer to example.com at 12>, then written into a message where the pointer would be wrong.
        byte[] data = [.. Header(questions: 1, answers: 1), 7, .. "example"u8, 3, .. "com"u8, 0, 0, 15, 0, 1,
            0xC0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 9, 0, 10, 4, .. "mail"u8, 0xC0, 12];
        Assert.True(DnsMessage.TryParse(data, out DnsMessage? m, out string error), error);
        Assert.Equal([0, 10, 4, .. "mail"u8, 7, .. "example"u8, 3, .. "com"u8, 0], m.Answers[0].Data.ToArray());

        var moved = new DnsMessage { IsResponse = true };
        moved.Questions.Add(new DnsQuestion("other.test", DnsRecordType.MX));
        moved.Answers.Add(m.Answers[0]);
        Assert.True(DnsMessage.TryParse(moved.ToArray(), out DnsMessage? again, out error), error);
        Assert.Equal(m.Answers[0].Data.ToArray(), again.Answers[0].Data.ToArray());
    }

    [Fact]
    public void CreateResponse_CopiesIdQuestionAndEdns()
    {
        DnsMessage query = DnsMessage.CreateQuery(99, "x.example", DnsRecordType.AAAA);
        query.CheckingDisabled = true;
        query.Additionals.Add(DnsResourceRecord.ForEdns(4096));

        DnsMessage response = query.CreateResponse(DnsResponseCode.ServerFailure);

        Assert.Equal(99, response.Id);
        Assert.True(response.IsResponse);
        Assert.True(response.RecursionDesired);
        Assert.True(response.CheckingDisabled);
        Assert.Equal(DnsResponseCode.ServerFailure, response.ResponseCode);
        Assert.Equal(query.Questions, response.Questions);
        Assert.NotNull(response.Edns);
        Assert.True(DnsMessage.TryParse(response.ToArray(), out _, out _));
    }

    private static byte[] Header(int questions = 0, int answers = 0) =>
        [0, 1, 0, 0, 0, (byte)questions, 0, (byte)answers, 0, 0, 0, 0];

    private static byte[] Labels(int bytes)
    {
        // Labels of up to 63 bytes totalling exactly `bytes` bytes on the wire (no root).
        var result = new List<byte>();
        while (result.Count < bytes)
        {
            int length = Math.Min(63, bytes - result.Count - 1);
            result.Add((byte)length);
            result.AddRange(Enumerable.Repeat((byte)'z', length));
        }

        return [.. result];
    }
}
