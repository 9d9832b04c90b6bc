using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Steer.Tun.MacOS.Interop.SystemConfigurationStatus;

namespace Steer.Tun.Dns;

/// <summary>
/// The SCDynamicStore operations the macOS DNS configurator needs, each returning an <c>SCError()</c> status
/// (<see cref="MacOS.Interop.SystemConfigurationStatus"/>). <see cref="MacOSDynamicStore"/> is the native one, a session
/// with configd; tests use a fake, so that <see cref="MacOSDynamicStoreEntry"/>'s decisions run on any OS.
/// </summary>
internal interface IMacOSDynamicStore : IDisposable
{
    /// <summary><c>SCDynamicStoreAddTemporaryValue</c>: adds the key, tied to this session, unless it exists (then <c>kSCStatusKeyExists</c>).</summary>
    int AddTemporary(string key, MacOSStoreDictionary value);

    /// <summary><c>SCDynamicStoreSetValue</c>: sets the key; a key this session added stays tied to it.</summary>
    int Set(string key, MacOSStoreDictionary value);

    /// <summary><c>SCDynamicStoreRemoveValue</c> (<c>kSCStatusNoKey</c> when there is no such key).</summary>
    int Remove(string key);

    /// <summary><c>SCDynamicStoreCopyValue</c>, read back as a dictionary; null when there is no such key.</summary>
    MacOSStoreDictionary? Copy(string key);
}

/// <summary>
/// One dynamic-store key that Steer owns while it runs (<see cref="MacOSDnsStorePlan.DnsKey"/>): written as a
/// temporary value of Steer's own session, updated in place, removed on <see cref="Clear"/> or <see cref="Dispose"/>.
/// Not thread-safe: its owner serializes the calls.
/// </summary>
/// <remarks>
/// Crash safety comes from configd itself: a value added with <c>SCDynamicStoreAddTemporaryValue</c> "will be removed
/// automatically when the session is closed" unless another session updated it (SCDynamicStore.h), and the session
/// closes when the process ends, however it ends. The dynamic store is volatile anyway (nothing of it survives a
/// reboot), and Steer changes no other program's key, so there is nothing to save on disk. Should a value be left
/// under the key all the same (another program, or a configd that did not drop it),
/// <see cref="RecoverLeftover"/> removes it, and a first <see cref="Write"/> that finds it replaces it.
/// </remarks>
internal sealed class MacOSDynamicStoreEntry : IDisposable
{
    private readonly string _key;
    private readonly Func<IMacOSDynamicStore> _open;
    private readonly ILogger _logger;
    private IMacOSDynamicStore? _store;
    private MacOSStoreDictionary? _written;
    private bool _disposed;

    /// <summary>Creates the entry; the session is opened (<paramref name="open"/>) at the first <see cref="Write"/>.</summary>
    /// <param name="key">The dynamic-store key.</param>
    /// <param name="open">Opens a dynamic-store session (a <see cref="TunException"/> when it cannot).</param>
    /// <param name="logger">Change and restore messages.</param>
    internal MacOSDynamicStoreEntry(string key, Func<IMacOSDynamicStore> open, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(open);
        _key = key;
        _open = open;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The key.</summary>
    internal string Key => _key;

    /// <summary>What Steer wrote last and has not removed; null when the key is not Steer's now.</summary>
    internal MacOSStoreDictionary? Written => _written;

    /// <summary>
    /// Writes <paramref name="value"/>. The first write adds it as a temporary value of this session (a value already
    /// there is a leftover: removed, logged, then added); later writes set it in place, which keeps it tied to the
    /// session — unless another program removed or rewrote it meanwhile, in which case it is added afresh (logged).
    /// </summary>
    /// <exception cref="TunException">The session could not be opened or configd refused (<see cref="TunException.IsPermissionDenied"/> without root).</exception>
    internal void Write(MacOSStoreDictionary value)
    {
        ArgumentNullException.ThrowIfNull(value);
        ObjectDisposedException.ThrowIf(_disposed, this);
        IMacOSDynamicStore store = _store ??= _open();
        int status;
        if (_written is null)
        {
            status = store.AddTemporary(_key, value);
            if (status == kSCStatusKeyExists)
            {
                DnsLog.Leftover(_logger, _key, "replaced it with Steer's value, tied to this process");
                status = RemoveThenAdd(store, value);
            }
        }
        else
        {
            MacOSStoreDictionary? current = store.Copy(_key);
            if (current is null)
            {
                status = store.AddTemporary(_key, value);
            }
            else if (!current.Equals(_written))
            {
                DnsLog.ForeignRewrite(_logger, _key, "Steer writes its own value again");
                status = RemoveThenAdd(store, value);
            }
            else
            {
                status = store.Set(_key, value);
            }
        }

        if (status != kSCStatusOK)
        {
            throw Failure("write " + _key, status);
        }

        _written = value;
    }

    /// <summary>
    /// Removes the key when it still holds what Steer wrote; a value another program wrote meanwhile is left alone
    /// (logged). Never throws.
    /// </summary>
    internal void Clear()
    {
        if (_written is not { } written || _store is not { } store)
        {
            return;
        }

        _written = null;
        try
        {
            MacOSStoreDictionary? current = store.Copy(_key);
            if (current is null)
            {
                return;
            }

            if (!current.Equals(written))
            {
                DnsLog.ForeignRewrite(_logger, _key, "another program wrote " + current + "; Steer leaves it");
                return;
            }

            int status = store.Remove(_key);
            if (status is kSCStatusOK or kSCStatusNoKey)
            {
                DnsLog.Restored(_logger, _key + " (removed)");
            }
            else
            {
                DnsLog.RestoreFailed(_logger, Failure("remove " + _key, status), _key);
            }
        }
        catch (TunException e)
        {
            DnsLog.RestoreFailed(_logger, e, _key);
        }
    }

    /// <summary>Removes Steer's value (<see cref="Clear"/>) and closes the session. Never throws.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Clear();
        _store?.Dispose();
        _store = null;
    }

    /// <summary>Removes a value an earlier Steer process left under <paramref name="key"/>.</summary>
    /// <returns>True when there was one.</returns>
    /// <exception cref="TunException">configd refused the removal.</exception>
    internal static bool RecoverLeftover(IMacOSDynamicStore store, string key, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.Copy(key) is null)
        {
            return false;
        }

        int status = store.Remove(key);
        if (status is not (kSCStatusOK or kSCStatusNoKey))
        {
            throw Failure("remove " + key, status);
        }

        DnsLog.Leftover(logger ?? NullLogger.Instance, key, "removed it");
        return true;
    }

    /// <summary>The exception for a refused dynamic-store operation, with a sudo hint for <c>kSCStatusAccessError</c>.</summary>
    internal static TunException Failure(string operation, int status)
        => new($"Cannot {operation} in the SystemConfiguration dynamic store: {Describe(status)}.{(status == kSCStatusAccessError ? " Run steer with sudo." : string.Empty)}")
        {
            ErrorCode = status,
            IsPermissionDenied = status == kSCStatusAccessError,
        };

    /// <summary>An <c>SCError()</c> status as its name and meaning (SCError.h), e.g. "kSCStatusAccessError (1003: permission denied)".</summary>
    internal static string Describe(int status) => status switch
    {
        kSCStatusOK => "kSCStatusOK (0: success)",
        kSCStatusFailed => "kSCStatusFailed (1001: failed)",
        kSCStatusInvalidArgument => "kSCStatusInvalidArgument (1002: invalid argument)",
        kSCStatusAccessError => "kSCStatusAccessError (1003: permission denied)",
        kSCStatusNoKey => "kSCStatusNoKey (1004: no such key)",
        kSCStatusKeyExists => "kSCStatusKeyExists (1005: key already defined)",
        kSCStatusNoStoreSession => "kSCStatusNoStoreSession (2001: configuration daemon session not active)",
        kSCStatusNoStoreServer => "kSCStatusNoStoreServer (2002: configuration daemon not available)",
        _ => "SCError " + status.ToString(CultureInfo.InvariantCulture),
    };

    private int RemoveThenAdd(IMacOSDynamicStore store, MacOSStoreDictionary value)
    {
        int removed = store.Remove(_key);
        return removed is kSCStatusOK or kSCStatusNoKey ? store.AddTemporary(_key, value) : removed;
    }
}
