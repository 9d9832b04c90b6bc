using Steer.Tun.Dns;
using static Steer.Tun.MacOS.Interop.SystemConfigurationStatus;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// Stands in for configd's dynamic store, with the documented semantics Steer relies on (SCDynamicStore.h):
/// AddTemporaryValue adds a key only if there is none and ties it to the session; a key is no longer tied to its
/// session once another session sets it; closing a session removes the keys still tied to it; RemoveValue of a
/// missing key is kSCStatusNoKey. Every call is recorded.
/// </summary>
internal sealed class MacOSFakeConfigd
{
    private readonly Dictionary<string, (MacOSStoreDictionary Value, MacOSFakeDynamicStore? Owner)> _keys = new(StringComparer.Ordinal);
    private readonly List<string> _calls = [];

    /// <summary>When set, writes and removals fail with this status (e.g. kSCStatusAccessError for a non-root caller).</summary>
    public int? RefuseWritesWith { get; set; }

    /// <summary>The calls, as "Operation key", in order.</summary>
    public IReadOnlyList<string> Calls => _calls;

    /// <summary>Sessions opened so far.</summary>
    public int SessionsOpened { get; private set; }

    public MacOSFakeDynamicStore Open()
    {
        SessionsOpened++;
        return new MacOSFakeDynamicStore(this);
    }

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public MacOSStoreDictionary? Value(string key) => _keys.TryGetValue(key, out var entry) ? entry.Value : null;

    /// <summary>True when <paramref name="key"/> is tied to a session (a temporary value).</summary>
    public bool IsTemporary(string key) => _keys.TryGetValue(key, out var entry) && entry.Owner is not null;

    /// <summary>Another program sets <paramref name="key"/> (not tied to any session).</summary>
    public void SetByAnotherProgram(string key, MacOSStoreDictionary value) => _keys[key] = (value, null);

    /// <summary>Another program removes <paramref name="key"/>.</summary>
    public void RemoveByAnotherProgram(string key) => _keys.Remove(key);

    public void ClearCalls() => _calls.Clear();

    internal int AddTemporary(MacOSFakeDynamicStore session, string key, MacOSStoreDictionary value)
    {
        _calls.Add("AddTemporary " + key);
        if (RefuseWritesWith is { } refused)
        {
            return refused;
        }

        if (_keys.ContainsKey(key))
        {
            return kSCStatusKeyExists;
        }

        _keys[key] = (value, session);
        return kSCStatusOK;
    }

    internal int Set(MacOSFakeDynamicStore session, string key, MacOSStoreDictionary value)
    {
        _calls.Add("Set " + key);
        if (RefuseWritesWith is { } refused)
        {
            return refused;
        }

        MacOSFakeDynamicStore? owner = _keys.TryGetValue(key, out var entry) && entry.Owner == session ? session : null;
        _keys[key] = (value, owner);
        return kSCStatusOK;
    }

    internal int Remove(string key)
    {
        _calls.Add("Remove " + key);
        if (RefuseWritesWith is { } refused)
        {
            return refused;
        }

        return _keys.Remove(key) ? kSCStatusOK : kSCStatusNoKey;
    }

    internal MacOSStoreDictionary? Copy(string key)
    {
        _calls.Add("Copy " + key);
        return Value(key);
    }

    internal void Close(MacOSFakeDynamicStore session)
    {
        _calls.Add("Close");
        foreach (string key in _keys.Where(k => k.Value.Owner == session).Select(k => k.Key).ToList())
        {
            _keys.Remove(key);
        }
    }
}

/// <summary>One session with <see cref="MacOSFakeConfigd"/>.</summary>
internal sealed class MacOSFakeDynamicStore(MacOSFakeConfigd configd) : IMacOSDynamicStore
{
    private bool _closed;

    public int AddTemporary(string key, MacOSStoreDictionary value) => Live().AddTemporary(this, key, value);

    public int Set(string key, MacOSStoreDictionary value) => Live().Set(this, key, value);

    public int Remove(string key) => Live().Remove(key);

    public MacOSStoreDictionary? Copy(string key) => Live().Copy(key);

    /// <summary>Closing the session, as configd does when the process ends (also after kill -9).</summary>
    public void Dispose()
    {
        if (!_closed)
        {
            _closed = true;
            configd.Close(this);
        }
    }

    private MacOSFakeConfigd Live() => _closed ? throw new ObjectDisposedException(nameof(MacOSFakeDynamicStore)) : configd;
}
