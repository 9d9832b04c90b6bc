using System.Buffers.Binary;
using System.Net;

namespace Steer.DnsStub;

/// <summary>
/// A DNS message (RFC 1035): header, questions, answers, authority and additional records. Parsed by
/// <see cref="TryParse"/>, which never throws on malformed input, and written by <see cref="ToArray"/> with name
/// compression.
/// </summary>
/// <remarks>
/// Hand-written rather than taken from DnsClient: DnsClient 1.8 parses only the responses of its own queries (its
/// message reader, writer and record factory are internal) and re-encodes questions with its own header and EDNS
/// record, so it can neither parse a client's query nor relay an answer byte for byte. What this needs is small: the
/// header, questions, A/AAAA/CNAME, other records kept opaque, EDNS(0) kept as an OPT record.
/// </remarks>
public sealed partial class DnsMessage
{
    /// <summary>The largest UDP message every DNS implementation accepts without EDNS(0).</summary>
    public const int ClassicUdpSize = 512;

    /// <summary>The largest DNS message (TCP's 16-bit length prefix).</summary>
    public const int MaxSize = 65535;

    private const ushort ResponseFlag = 0x8000;
    private const ushort AuthoritativeFlag = 0x0400;
    private const ushort TruncatedFlag = 0x0200;
    private const ushort RecursionDesiredFlag = 0x0100;
    private const ushort RecursionAvailableFlag = 0x0080;
    private const ushort AuthenticDataFlag = 0x0020;
    private const ushort CheckingDisabledFlag = 0x0010;

    /// <summary>The message id.</summary>
    public ushort Id { get; set; }

    /// <summary>The 16-bit flags word of the header (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE) as sent.</summary>
    public ushort Flags { get; set; }

    /// <summary>The QR bit: a response rather than a query.</summary>
    public bool IsResponse { get => Has(ResponseFlag); set => Set(ResponseFlag, value); }

    /// <summary>The opcode (0 is a standard query).</summary>
    public int Opcode
    {
        get => (Flags >> 11) & 0xF;
        set => Flags = (ushort)((Flags & ~0x7800) | ((value & 0xF) << 11));
    }

    /// <summary>The AA bit.</summary>
    public bool IsAuthoritative { get => Has(AuthoritativeFlag); set => Set(AuthoritativeFlag, value); }

    /// <summary>The TC bit: the answer did not fit and should be asked for again over TCP.</summary>
    public bool IsTruncated { get => Has(TruncatedFlag); set => Set(TruncatedFlag, value); }

    /// <summary>The RD bit.</summary>
    public bool RecursionDesired { get => Has(RecursionDesiredFlag); set => Set(RecursionDesiredFlag, value); }

    /// <summary>The RA bit.</summary>
    public bool RecursionAvailable { get => Has(RecursionAvailableFlag); set => Set(RecursionAvailableFlag, value); }

    /// <summary>The AD bit.</summary>
    public bool AuthenticData { get => Has(AuthenticDataFlag); set => Set(AuthenticDataFlag, value); }

    /// <summary>The CD bit.</summary>
    public bool CheckingDisabled { get => Has(CheckingDisabledFlag); set => Set(CheckingDisabledFlag, value); }

    /// <summary>The 4-bit response code of the header.</summary>
    public DnsResponseCode ResponseCode
    {
        get => (DnsResponseCode)(Flags & 0xF);
        set => Flags = (ushort)((Flags & ~0xF) | ((int)value & 0xF));
    }

    /// <summary>The question section.</summary>
    public List<DnsQuestion> Questions { get; } = [];

    /// <summary>The answer section.</summary>
    public List<DnsResourceRecord> Answers { get; } = [];

    /// <summary>The authority section.</summary>
    public List<DnsResourceRecord> Authorities { get; } = [];

    /// <summary>The additional section, the OPT record included.</summary>
    public List<DnsResourceRecord> Additionals { get; } = [];

    /// <summary>The EDNS(0) OPT record of the additional section, if any.</summary>
    public DnsResourceRecord? Edns => Additionals.Find(r => r.Type == DnsRecordType.OPT);

    /// <summary>
    /// The largest UDP response the sender of this query accepts: 512 bytes without EDNS(0), otherwise the OPT
    /// record's payload size (at least 512).
    /// </summary>
    public int MaxUdpResponseSize => Edns is { } opt ? Math.Max(ClassicUdpSize, (int)opt.Class) : ClassicUdpSize;

    /// <summary>Creates a standard query for one name and type, with recursion desired.</summary>
    /// <param name="id">The message id.</param>
    /// <param name="name">The name.</param>
    /// <param name="type">The record type.</param>
    /// <returns>The query.</returns>
    public static DnsMessage CreateQuery(ushort id, string name, DnsRecordType type)
    {
        var query = new DnsMessage { Id = id, RecursionDesired = true };
        query.Questions.Add(new DnsQuestion(name, type));
        return query;
    }

    /// <summary>
    /// Creates an empty response to this query: same id, opcode, RD and CD bits and questions, QR and RA set, the
    /// given code, and an OPT record when the query had one (RFC 6891).
    /// </summary>
    /// <param name="responseCode">The response code.</param>
    /// <returns>The response.</returns>
    public DnsMessage CreateResponse(DnsResponseCode responseCode)
    {
        var response = new DnsMessage
        {
            Id = Id,
            Flags = (ushort)(Flags & (0x7800 | RecursionDesiredFlag | CheckingDisabledFlag)),
            IsResponse = true,
            RecursionAvailable = true,
            ResponseCode = responseCode,
        };
        response.Questions.AddRange(Questions);
        if (Edns is not null)
        {
            response.Additionals.Add(DnsResourceRecord.ForEdns(1232));
        }

        return response;
    }

    /// <summary>
    /// Returns the addresses that answer the first question: A and AAAA records of the question's name or of the
    /// names its CNAME chain in the answer section leads to, each with the smallest time to live along its chain.
    /// </summary>
    /// <returns>The addresses and their time to live; empty for NXDOMAIN, NODATA or no question.</returns>
    public IReadOnlyList<(IPAddress Address, TimeSpan Ttl)> GetAnswerAddresses()
    {
        if (Questions.Count == 0)
        {
            return [];
        }

        var chain = new List<string> { Questions[0].Name };
        TimeSpan chainTtl = TimeSpan.MaxValue;
        for (int step = 0; step < 16; step++)
        {
            string current = chain[^1];
            DnsResourceRecord? alias = Answers.Find(r => r.Type == DnsRecordType.CNAME && DnsName.AreEqual(r.Name, current));
            if (alias is null || !alias.TryGetCanonicalName(out string? target) || chain.Exists(n => DnsName.AreEqual(n, target)))
            {
                break;
            }

            chainTtl = alias.Ttl < chainTtl ? alias.Ttl : chainTtl;
            chain.Add(target);
        }

        var result = new List<(IPAddress, TimeSpan)>();
        foreach (DnsResourceRecord record in Answers)
        {
            if (record.TryGetAddress(out IPAddress? address) && chain.Exists(n => DnsName.AreEqual(n, record.Name)))
            {
                result.Add((address, record.Ttl < chainTtl ? record.Ttl : chainTtl));
            }
        }

        return result;
    }

    /// <summary>Returns "id 4660 response NoError: 1 question, 2 answers, 0 authority, 1 additional".</summary>
    /// <returns>A summary of the message.</returns>
    public override string ToString() =>
        $"id {Id} {(IsResponse ? "response" : "query")} {ResponseCode}{(IsTruncated ? " TC" : string.Empty)}: "
        + $"{Questions.Count} questions, {Answers.Count} answers, {Authorities.Count} authority, {Additionals.Count} additional";

    /// <summary>Reads the id of a raw message; false when shorter than a header.</summary>
    internal static bool TryReadId(ReadOnlySpan<byte> message, out ushort id)
    {
        id = message.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(message) : (ushort)0;
        return message.Length >= 12;
    }

    private bool Has(ushort flag) => (Flags & flag) != 0;

    private void Set(ushort flag, bool value) => Flags = value ? (ushort)(Flags | flag) : (ushort)(Flags & ~flag);
}
