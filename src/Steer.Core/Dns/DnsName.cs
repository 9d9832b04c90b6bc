using System.Globalization;

namespace Steer.DnsStub;

/// <summary>
/// Domain names on the wire (RFC 1035 section 3.1 and 4.1.4) and in presentation form: labels as printable ASCII, with
/// <c>\.</c>, <c>\\</c> and <c>\DDD</c> (decimal) escapes for dots, backslashes and other bytes inside a label.
/// </summary>
internal static class DnsName
{
    /// <summary>The longest name on the wire, length bytes and the root label included.</summary>
    public const int MaxWireLength = 255;

    /// <summary>The longest label.</summary>
    public const int MaxLabelLength = 63;

    /// <summary>
    /// At most this many compression pointers are followed in one name. Pointers must also point strictly backwards,
    /// which alone rules out loops; the cap bounds the work per name.
    /// </summary>
    public const int MaxPointers = 64;

    /// <summary>The presentation form of the root name.</summary>
    public const string Root = ".";

    /// <summary>
    /// Reads a possibly compressed name at <paramref name="offset"/> into its uncompressed wire form and moves
    /// <paramref name="offset"/> past the name as it stands in the message (past the first pointer, if any).
    /// </summary>
    public static bool TryReadWire(ReadOnlySpan<byte> message, ref int offset, Span<byte> wire, out int wireLength, out string error)
    {
        wireLength = 0;
        int position = offset;
        int end = -1;
        int pointers = 0;
        while (true)
        {
            if (position >= message.Length)
            {
                error = $"a name at offset {offset} runs past the end of the message";
                return false;
            }

            byte length = message[position];
            switch (length & 0xC0)
            {
                case 0xC0:
                    if (position + 1 >= message.Length)
                    {
                        error = $"a compression pointer at offset {position} is cut off";
                        return false;
                    }

                    int target = ((length & 0x3F) << 8) | message[position + 1];
                    if (target >= position || target < 12)
                    {
                        error = $"the compression pointer at offset {position} points to {target}, which is not an earlier name in the message";
                        return false;
                    }

                    if (++pointers > MaxPointers)
                    {
                        error = $"a name at offset {offset} follows more than {MaxPointers} compression pointers";
                        return false;
                    }

                    if (end < 0)
                    {
                        end = position + 2;
                    }

                    position = target;
                    continue;
                case 0x40:
                case 0x80:
                    error = $"the label type 0x{length & 0xC0:x2} at offset {position} is not supported";
                    return false;
            }

            if (wireLength + 1 + length > MaxWireLength)
            {
                error = $"a name at offset {offset} is longer than {MaxWireLength} bytes";
                return false;
            }

            if (length == 0)
            {
                wire[wireLength++] = 0;
                offset = end < 0 ? position + 1 : end;
                error = string.Empty;
                return true;
            }

            if (position + 1 + length > message.Length)
            {
                error = $"a label at offset {position} runs past the end of the message";
                return false;
            }

            message.Slice(position, 1 + length).CopyTo(wire[wireLength..]);
            wireLength += 1 + length;
            position += 1 + length;
        }
    }

    /// <summary>Reads a possibly compressed name into its presentation form.</summary>
    public static bool TryRead(ReadOnlySpan<byte> message, ref int offset, out string name, out string error)
    {
        Span<byte> wire = stackalloc byte[MaxWireLength];
        if (!TryReadWire(message, ref offset, wire, out int length, out error))
        {
            name = string.Empty;
            return false;
        }

        name = ToPresentation(wire[..length]);
        return true;
    }

    /// <summary>Converts a valid uncompressed wire name to presentation form.</summary>
    public static string ToPresentation(ReadOnlySpan<byte> wire)
    {
        if (wire.Length <= 1)
        {
            return Root;
        }

        Span<char> chars = stackalloc char[MaxWireLength * 4];
        int count = 0;
        int position = 0;
        while (position < wire.Length && wire[position] != 0)
        {
            int length = wire[position];
            if (count > 0)
            {
                chars[count++] = '.';
            }

            foreach (byte b in wire.Slice(position + 1, length))
            {
                if (b is (byte)'.' or (byte)'\\')
                {
                    chars[count++] = '\\';
                    chars[count++] = (char)b;
                }
                else if (b is > 0x20 and < 0x7F)
                {
                    chars[count++] = (char)b;
                }
                else
                {
                    chars[count++] = '\\';
                    chars[count++] = (char)('0' + (b / 100));
                    chars[count++] = (char)('0' + (b / 10 % 10));
                    chars[count++] = (char)('0' + (b % 10));
                }
            }

            position += 1 + length;
        }

        return new string(chars[..count]);
    }

    /// <summary>
    /// Encodes a presentation-form name (a trailing dot is optional; <c>.</c> or empty is the root) to its uncompressed
    /// wire form. Returns false with a reason for empty labels, labels over 63 bytes, names over 255 bytes and bad escapes.
    /// </summary>
    public static bool TryEncode(string name, out byte[] wire, out string error)
    {
        wire = [];
        Span<byte> buffer = stackalloc byte[MaxWireLength];
        int length = 0;
        if (name is "" or Root)
        {
            wire = [0];
            error = string.Empty;
            return true;
        }

        int labelStart = 0;
        int i = 0;
        buffer[0] = 0;
        length = 1;
        while (true)
        {
            bool atEnd = i == name.Length;
            if (atEnd || name[i] == '.')
            {
                int labelLength = length - labelStart - 1;
                if (labelLength == 0)
                {
                    if (atEnd && i > 0 && name[i - 1] == '.' && labelStart > 0)
                    {
                        length--; // The trailing dot of an absolute name: no label follows it.
                        break;
                    }

                    error = $"'{name}' has an empty label";
                    return false;
                }

                buffer[labelStart] = (byte)labelLength;
                if (atEnd)
                {
                    break;
                }

                if (length >= MaxWireLength)
                {
                    error = $"'{name}' is longer than {MaxWireLength} bytes on the wire";
                    return false;
                }

                labelStart = length;
                buffer[length++] = 0;
                i++;
                continue;
            }

            byte value;
            char c = name[i];
            if (c == '\\')
            {
                if (i + 1 >= name.Length)
                {
                    error = $"'{name}' ends with a lone backslash";
                    return false;
                }

                if (char.IsAsciiDigit(name[i + 1]))
                {
                    if (i + 3 >= name.Length || !char.IsAsciiDigit(name[i + 2]) || !char.IsAsciiDigit(name[i + 3]))
                    {
                        error = $"'{name}' has an escape \\DDD without three digits";
                        return false;
                    }

                    int number = int.Parse(name.AsSpan(i + 1, 3), NumberStyles.None, CultureInfo.InvariantCulture);
                    if (number > 255)
                    {
                        error = $"'{name}' has an escape \\{number} above 255";
                        return false;
                    }

                    value = (byte)number;
                    i += 4;
                }
                else
                {
                    char escaped = name[i + 1];
                    if (escaped >= 0x80)
                    {
                        error = $"'{name}' escapes a non-ASCII character";
                        return false;
                    }

                    value = (byte)escaped;
                    i += 2;
                }
            }
            else
            {
                if (c >= 0x80)
                {
                    error = $"'{name}' has a non-ASCII character: write internationalized names in their xn-- form";
                    return false;
                }

                value = (byte)c;
                i++;
            }

            if (length - labelStart - 1 >= MaxLabelLength)
            {
                error = $"'{name}' has a label longer than {MaxLabelLength} bytes";
                return false;
            }

            if (length + 1 >= MaxWireLength)
            {
                error = $"'{name}' is longer than {MaxWireLength} bytes on the wire";
                return false;
            }

            buffer[length++] = value;
        }

        buffer[length++] = 0;
        wire = buffer[..length].ToArray();
        error = string.Empty;
        return true;
    }

    /// <summary>Returns whether the bytes are exactly one valid uncompressed wire name.</summary>
    public static bool IsValidWire(ReadOnlySpan<byte> wire)
    {
        if (wire.IsEmpty || wire.Length > MaxWireLength)
        {
            return false;
        }

        int position = 0;
        while (position < wire.Length)
        {
            int length = wire[position];
            if (length == 0)
            {
                return position == wire.Length - 1;
            }

            if (length > MaxLabelLength)
            {
                return false;
            }

            position += 1 + length;
        }

        return false;
    }

    /// <summary>Compares two presentation-form names as DNS does: ASCII case-insensitively, a trailing dot ignored.</summary>
    public static bool AreEqual(string a, string b) =>
        a.AsSpan().TrimEnd('.').Equals(b.AsSpan().TrimEnd('.'), StringComparison.OrdinalIgnoreCase);
}
