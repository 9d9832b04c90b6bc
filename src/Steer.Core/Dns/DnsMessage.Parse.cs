using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Steer.DnsStub;

// Parsing: every length is checked before it is used, so that malformed input gives false with a reason, never an
// exception, and the work is bounded by the input's length.
public sealed partial class DnsMessage
{
    /// <summary>
    /// Parses a DNS message. Never throws on malformed input: returns false and says why. Compression pointers must
    /// point backwards (which rules out loops), names are limited to 255 bytes and labels to 63; trailing bytes after
    /// the last record, A/AAAA records of the wrong size and more than one OPT record are errors.
    /// </summary>
    /// <param name="data">The message as received (without TCP's length prefix).</param>
    /// <param name="message">The message, when valid.</param>
    /// <param name="error">Why the data is not a valid message; empty on success.</param>
    /// <returns>True when the data is a valid message.</returns>
    public static bool TryParse(ReadOnlySpan<byte> data, [NotNullWhen(true)] out DnsMessage? message, out string error)
    {
        message = null;
        if (data.Length < 12)
        {
            error = $"{data.Length} bytes is shorter than the 12-byte DNS header";
            return false;
        }

        if (data.Length > MaxSize)
        {
            error = $"{data.Length} bytes is longer than the largest DNS message ({MaxSize} bytes)";
            return false;
        }

        var result = new DnsMessage
        {
            Id = BinaryPrimitives.ReadUInt16BigEndian(data),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(data[2..]),
        };
        int questions = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        int answers = BinaryPrimitives.ReadUInt16BigEndian(data[6..]);
        int authorities = BinaryPrimitives.ReadUInt16BigEndian(data[8..]);
        int additionals = BinaryPrimitives.ReadUInt16BigEndian(data[10..]);

        // Each question takes at least 5 bytes and each record 11: refuse counts the data cannot hold before reading.
        long least = (questions * 5L) + ((answers + authorities + additionals) * 11L);
        if (12 + least > data.Length)
        {
            error = $"the header counts {questions} questions and {answers + authorities + additionals} records, more than {data.Length} bytes can hold";
            return false;
        }

        int offset = 12;
        for (int i = 0; i < questions; i++)
        {
            if (!DnsName.TryRead(data, ref offset, out string name, out error))
            {
                error = $"question {i}: {error}";
                return false;
            }

            if (offset + 4 > data.Length)
            {
                error = $"question {i} is cut off after its name";
                return false;
            }

            result.Questions.Add(new DnsQuestion(name, (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(data[offset..]),
                BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..])));
            offset += 4;
        }

        if (!TryReadSection(data, ref offset, answers, "answer", result.Answers, out error)
            || !TryReadSection(data, ref offset, authorities, "authority", result.Authorities, out error)
            || !TryReadSection(data, ref offset, additionals, "additional", result.Additionals, out error))
        {
            return false;
        }

        if (offset != data.Length)
        {
            error = $"{data.Length - offset} bytes follow the last record";
            return false;
        }

        int optCount = 0;
        foreach (DnsResourceRecord record in result.Answers.Concat(result.Authorities))
        {
            if (record.Type == DnsRecordType.OPT)
            {
                error = "an OPT record outside the additional section";
                return false;
            }
        }

        foreach (DnsResourceRecord record in result.Additionals)
        {
            if (record.Type == DnsRecordType.OPT && (++optCount > 1 || record.Name != DnsName.Root))
            {
                error = optCount > 1 ? "more than one OPT record" : "an OPT record whose owner is not the root";
                return false;
            }
        }

        message = result;
        error = string.Empty;
        return true;
    }

    private static bool TryReadSection(ReadOnlySpan<byte> data, ref int offset, int count, string section, List<DnsResourceRecord> records, out string error)
    {
        for (int i = 0; i < count; i++)
        {
            if (!TryReadRecord(data, ref offset, out DnsResourceRecord? record, out error))
            {
                error = $"{section} record {i}: {error}";
                return false;
            }

            records.Add(record);
        }

        error = string.Empty;
        return true;
    }

    private static bool TryReadRecord(ReadOnlySpan<byte> data, ref int offset, [NotNullWhen(true)] out DnsResourceRecord? record, out string error)
    {
        record = null;
        if (!DnsName.TryRead(data, ref offset, out string name, out error))
        {
            return false;
        }

        if (offset + 10 > data.Length)
        {
            error = "cut off after its name";
            return false;
        }

        var type = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
        ushort @class = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
        uint ttl = BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 4)..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 8)..]);
        offset += 10;
        if (offset + length > data.Length)
        {
            error = $"its {length} bytes of data run past the end of the message";
            return false;
        }

        byte[] rdata;
        if (type is DnsRecordType.A or DnsRecordType.AAAA && @class == DnsResourceRecord.InternetClass
            && length != (type == DnsRecordType.A ? 4 : 16))
        {
            error = $"{type} record with {length} bytes of data";
            return false;
        }

        if (GetNameLayout(type) is { } layout)
        {
            if (!TryDecompressData(data, offset, length, layout, out rdata, out error))
            {
                error = $"{type} record data: {error}";
                return false;
            }
        }
        else
        {
            rdata = data.Slice(offset, length).ToArray();
        }

        offset += length;
        record = new DnsResourceRecord(name, type, @class, ttl, rdata);
        return true;
    }

    /// <summary>
    /// The layout of record data that holds names which may be compressed (RFC 3597 section 4): fixed bytes before,
    /// the number of names, fixed bytes after. Null for data kept as it is.
    /// </summary>
    private static (int Before, int Names, int After)? GetNameLayout(DnsRecordType type) => (ushort)type switch
    {
        2 or 3 or 4 or 5 or 7 or 8 or 9 or 12 => (0, 1, 0), // NS, MD, MF, CNAME, MB, MG, MR, PTR
        6 => (0, 2, 20),                                    // SOA
        14 or 17 => (0, 2, 0),                              // MINFO, RP
        15 or 18 or 21 or 36 => (2, 1, 0),                  // MX, AFSDB, RT, KX
        26 => (2, 2, 0),                                    // PX
        33 => (6, 1, 0),                                    // SRV (must not be compressed; decompressed if it is)
        _ => null,
    };

    private static bool TryDecompressData(ReadOnlySpan<byte> data, int offset, int length, (int Before, int Names, int After) layout,
        out byte[] rdata, out string error)
    {
        rdata = [];
        int end = offset + length;
        Span<byte> buffer = stackalloc byte[(2 * DnsName.MaxWireLength) + 32];
        if (layout.Before > length)
        {
            error = $"{length} bytes is too short";
            return false;
        }

        data.Slice(offset, layout.Before).CopyTo(buffer);
        int written = layout.Before;
        int position = offset + layout.Before;
        for (int i = 0; i < layout.Names; i++)
        {
            // A name in the data may point anywhere earlier but must not run past the data's own end.
            if (!DnsName.TryReadWire(data[..end], ref position, buffer[written..], out int nameLength, out error))
            {
                return false;
            }

            written += nameLength;
        }

        if (end - position != layout.After)
        {
            error = $"{end - position} bytes follow the names instead of {layout.After}";
            return false;
        }

        data.Slice(position, layout.After).CopyTo(buffer[written..]);
        written += layout.After;
        rdata = buffer[..written].ToArray();
        error = string.Empty;
        return true;
    }
}
