using System.Buffers.Binary;
using System.Text;

namespace Steer.DnsStub;

// Writing: owner names, question names and the names in CNAME, NS and PTR data are compressed against earlier
// names (exact, case-preserving suffix matches); other record data is written as it is.
public sealed partial class DnsMessage
{
    /// <summary>Writes the message in wire format, names compressed.</summary>
    /// <returns>The message bytes (without TCP's length prefix).</returns>
    /// <exception cref="InvalidOperationException">A name is invalid, or the message is longer than 65535 bytes.</exception>
    public byte[] ToArray()
    {
        if (Math.Max(Math.Max(Questions.Count, Answers.Count), Math.Max(Authorities.Count, Additionals.Count)) > ushort.MaxValue)
        {
            throw new InvalidOperationException($"A DNS message section holds at most {ushort.MaxValue} entries.");
        }

        var writer = new Writer();
        writer.WriteUInt16(Id);
        writer.WriteUInt16(Flags);
        writer.WriteUInt16((ushort)Questions.Count);
        writer.WriteUInt16((ushort)Answers.Count);
        writer.WriteUInt16((ushort)Authorities.Count);
        writer.WriteUInt16((ushort)Additionals.Count);
        foreach (DnsQuestion question in Questions)
        {
            writer.WriteName(Encode(question.Name));
            writer.WriteUInt16((ushort)question.Type);
            writer.WriteUInt16(question.Class);
        }

        foreach (List<DnsResourceRecord> section in (List<DnsResourceRecord>[])[Answers, Authorities, Additionals])
        {
            foreach (DnsResourceRecord record in section)
            {
                writer.WriteName(Encode(record.Name));
                writer.WriteUInt16((ushort)record.Type);
                writer.WriteUInt16(record.Class);
                writer.WriteUInt32(record.TimeToLive);
                int lengthAt = writer.Length;
                writer.WriteUInt16(0);
                if (record.Type is DnsRecordType.CNAME or DnsRecordType.NS or DnsRecordType.PTR
                    && DnsName.IsValidWire(record.Data.Span))
                {
                    writer.WriteName(record.Data.Span);
                }
                else
                {
                    writer.WriteBytes(record.Data.Span);
                }

                int dataLength = writer.Length - lengthAt - 2;
                if (dataLength > ushort.MaxValue)
                {
                    throw new InvalidOperationException($"The data of a {record.Type} record is {dataLength} bytes long, more than {ushort.MaxValue}.");
                }

                writer.PatchUInt16(lengthAt, (ushort)dataLength);
            }
        }

        if (writer.Length > MaxSize)
        {
            throw new InvalidOperationException($"The DNS message is {writer.Length} bytes long, more than {MaxSize}.");
        }

        return writer.ToArray();
    }

    private static byte[] Encode(string name) =>
        DnsName.TryEncode(name, out byte[] wire, out string error) ? wire : throw new InvalidOperationException(error);

    /// <summary>A growable buffer that remembers where each written name suffix starts, for compression.</summary>
    private sealed class Writer
    {
        private readonly Dictionary<string, int> _names = new(StringComparer.Ordinal);
        private byte[] _buffer = new byte[512];

        public int Length { get; private set; }

        public void WriteUInt16(ushort value)
        {
            Ensure(2);
            BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(Length), value);
            Length += 2;
        }

        public void WriteUInt32(uint value)
        {
            Ensure(4);
            BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(Length), value);
            Length += 4;
        }

        public void WriteBytes(ReadOnlySpan<byte> bytes)
        {
            Ensure(bytes.Length);
            bytes.CopyTo(_buffer.AsSpan(Length));
            Length += bytes.Length;
        }

        public void PatchUInt16(int offset, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(offset), value);

        /// <summary>Writes an uncompressed wire name, replacing its longest suffix already written by a pointer.</summary>
        public void WriteName(ReadOnlySpan<byte> wire)
        {
            int label = 0;
            var starts = new List<(string Key, int Offset)>();
            while (wire[label] != 0)
            {
                string key = Encoding.Latin1.GetString(wire[label..]);
                if (_names.TryGetValue(key, out int pointer))
                {
                    Register(starts);
                    WriteBytes(wire[..label]);
                    WriteUInt16((ushort)(0xC000 | pointer));
                    return;
                }

                starts.Add((key, Length + label));
                label += 1 + wire[label];
            }

            Register(starts);
            WriteBytes(wire);
        }

        public byte[] ToArray() => _buffer.AsSpan(0, Length).ToArray();

        private void Register(List<(string Key, int Offset)> starts)
        {
            foreach ((string key, int offset) in starts)
            {
                if (offset < 0x4000)
                {
                    _names.TryAdd(key, offset);
                }
            }
        }

        private void Ensure(int count)
        {
            if (Length + count > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count));
            }
        }
    }
}
