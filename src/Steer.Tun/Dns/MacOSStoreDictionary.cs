using System.Globalization;
using System.Text;

namespace Steer.Tun.Dns;

/// <summary>
/// One value of a SystemConfiguration dictionary as Steer writes and compares it: a string, an array of strings, a
/// 32-bit number, or (read back only) anything else, kept as a description so that it never equals what Steer wrote.
/// </summary>
internal sealed class MacOSStoreValue : IEquatable<MacOSStoreValue>
{
    private readonly string? _text;
    private readonly string[]? _texts;
    private readonly int _number;
    private readonly string? _other;

    private MacOSStoreValue(string? text, string[]? texts, int number, string? other)
    {
        _text = text;
        _texts = texts;
        _number = number;
        _other = other;
    }

    /// <summary>A CFString.</summary>
    internal static MacOSStoreValue String(string value) => new(value ?? throw new ArgumentNullException(nameof(value)), null, 0, null);

    /// <summary>A CFArray of CFStrings.</summary>
    internal static MacOSStoreValue Strings(IEnumerable<string> values) => new(null, [.. values ?? throw new ArgumentNullException(nameof(values))], 0, null);

    /// <summary>A CFNumber (kCFNumberSInt32Type).</summary>
    internal static MacOSStoreValue Number(int value) => new(null, null, value, null);

    /// <summary>A value of another type (or an array holding one), read back from the store; <paramref name="description"/> says what it was.</summary>
    internal static MacOSStoreValue Other(string description) => new(null, null, 0, description);

    /// <summary>True for a value made by <c>String</c>.</summary>
    internal bool IsString => _text is not null;

    /// <summary>True for a value made by <c>Strings</c>.</summary>
    internal bool IsStrings => _texts is not null;

    /// <summary>True for a value made by <c>Number</c>.</summary>
    internal bool IsNumber => _text is null && _texts is null && _other is null;

    /// <summary>The string of a <c>String</c> value.</summary>
    internal string Text => _text ?? throw new InvalidOperationException("Not a string value: " + this);

    /// <summary>The strings of a <c>Strings</c> value.</summary>
    internal IReadOnlyList<string> Texts => _texts ?? throw new InvalidOperationException("Not a string array value: " + this);

    /// <summary>The number of a <c>Number</c> value.</summary>
    internal int NumberValue => IsNumber ? _number : throw new InvalidOperationException("Not a number value: " + this);

    /// <inheritdoc/>
    public bool Equals(MacOSStoreValue? other)
        => other is not null
           && _other is null && other._other is null
           && string.Equals(_text, other._text, StringComparison.Ordinal)
           && (_texts is null ? other._texts is null : other._texts is not null && _texts.AsSpan().SequenceEqual(other._texts))
           && _number == other._number;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as MacOSStoreValue);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_text, _texts?.Length, _number, _other);

    /// <summary>The value as scutil shows it, roughly: <c>"a"</c>, <c>["a", "b"]</c>, <c>#5</c>.</summary>
    public override string ToString()
        => _text is not null ? Quote(_text)
            : _texts is not null ? "[" + string.Join(", ", _texts.Select(Quote)) + "]"
            : _other is not null ? "<" + _other + ">"
            : "#" + _number.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string s) => "\"" + s + "\"";
}

/// <summary>
/// A SystemConfiguration dictionary (CFDictionary with CFString keys) as Steer writes it into, and reads it back from,
/// the dynamic store: the pure side of the native calls, so that every decision about keys and values is unit-tested on
/// any OS. Keys are kept in ordinal order; two dictionaries are equal when they hold the same keys and equal values.
/// </summary>
internal sealed class MacOSStoreDictionary : IEquatable<MacOSStoreDictionary>
{
    private readonly SortedDictionary<string, MacOSStoreValue> _entries = new(StringComparer.Ordinal);

    /// <summary>Creates an empty dictionary.</summary>
    internal MacOSStoreDictionary()
    {
    }

    /// <summary>The value stored in the dynamic store was not a dictionary; <paramref name="description"/> says what it was.</summary>
    internal static MacOSStoreDictionary NotADictionary(string description)
    {
        var result = new MacOSStoreDictionary { NotDictionaryDescription = description };
        return result;
    }

    /// <summary>Set when the value read back was not a dictionary at all (then it never equals a dictionary).</summary>
    internal string? NotDictionaryDescription { get; private init; }

    /// <summary>The entries, in ordinal key order.</summary>
    internal IEnumerable<KeyValuePair<string, MacOSStoreValue>> Entries => _entries;

    /// <summary>The number of entries.</summary>
    internal int Count => _entries.Count;

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    internal MacOSStoreValue? this[string key] => _entries.TryGetValue(key, out MacOSStoreValue? value) ? value : null;

    /// <summary>Adds or replaces an entry.</summary>
    internal MacOSStoreDictionary Set(string key, MacOSStoreValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _entries[key] = value;
        return this;
    }

    /// <inheritdoc/>
    public bool Equals(MacOSStoreDictionary? other)
        => other is not null
           && NotDictionaryDescription is null && other.NotDictionaryDescription is null
           && _entries.Count == other._entries.Count
           && _entries.All(e => other._entries.TryGetValue(e.Key, out MacOSStoreValue? value) && e.Value.Equals(value));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as MacOSStoreDictionary);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_entries.Count, NotDictionaryDescription);

    /// <summary>The dictionary as <c>{ Key = value; … }</c>, for logs and test messages.</summary>
    public override string ToString()
    {
        if (NotDictionaryDescription is not null)
        {
            return "<" + NotDictionaryDescription + ">";
        }

        var text = new StringBuilder("{ ");
        foreach ((string key, MacOSStoreValue value) in _entries)
        {
            text.Append(key).Append(" = ").Append(value).Append("; ");
        }

        return text.Append('}').ToString();
    }
}
