using System.Globalization;
using System.Runtime.Versioning;
using System.Text;
using Steer.Tun.MacOS;
using static Steer.Tun.MacOS.Interop.CoreFoundationConstants;
using static Steer.Tun.MacOS.Interop.SystemConfigurationStatus;
using CF = Steer.Tun.MacOS.Interop.CoreFoundation;
using SC = Steer.Tun.MacOS.Interop.SystemConfiguration;

namespace Steer.Tun.Dns;

/// <summary>
/// A session with configd's dynamic store (<c>SCDynamicStoreCreate</c>): converts <see cref="MacOSStoreDictionary"/>
/// values to and from CFDictionary and calls SCDynamicStore. No decisions here (they are in
/// <see cref="MacOSDnsStorePlan"/> and <see cref="MacOSDynamicStoreEntry"/>). Closing the session (Dispose, or the
/// process ending) makes configd drop the keys it added as temporary values. Compiled here, never run on a Mac.
/// </summary>
[SupportedOSPlatform("macos")]
internal sealed unsafe class MacOSDynamicStore : IMacOSDynamicStore
{
    private readonly SafeCFTypeHandle _session;

    private MacOSDynamicStore(SafeCFTypeHandle session)
    {
        _session = session;
    }

    /// <summary>Opens a session named <see cref="MacOSDnsStorePlan.SessionName"/>.</summary>
    /// <exception cref="TunException">configd could not be reached.</exception>
    internal static IMacOSDynamicStore Open() => Open(MacOSDnsStorePlan.SessionName);

    /// <summary>Opens a session named <paramref name="name"/>.</summary>
    /// <exception cref="TunException">configd could not be reached.</exception>
    internal static MacOSDynamicStore Open(string name)
    {
        using SafeCFTypeHandle cfName = CreateString(name);
        var session = new SafeCFTypeHandle(SC.SCDynamicStoreCreate(0, cfName.Value, 0, 0));
        if (session.IsInvalid)
        {
            int status = SC.SCError();
            session.Dispose();
            throw MacOSDynamicStoreEntry.Failure("open a session", status);
        }

        return new MacOSDynamicStore(session);
    }

    /// <inheritdoc/>
    public int AddTemporary(string key, MacOSStoreDictionary value)
    {
        using SafeCFTypeHandle cfKey = CreateString(key);
        using SafeCFTypeHandle cfValue = CreateDictionary(value);
        return SC.SCDynamicStoreAddTemporaryValue(_session.Value, cfKey.Value, cfValue.Value) != 0 ? kSCStatusOK : SC.SCError();
    }

    /// <inheritdoc/>
    public int Set(string key, MacOSStoreDictionary value)
    {
        using SafeCFTypeHandle cfKey = CreateString(key);
        using SafeCFTypeHandle cfValue = CreateDictionary(value);
        return SC.SCDynamicStoreSetValue(_session.Value, cfKey.Value, cfValue.Value) != 0 ? kSCStatusOK : SC.SCError();
    }

    /// <inheritdoc/>
    public int Remove(string key)
    {
        using SafeCFTypeHandle cfKey = CreateString(key);
        return SC.SCDynamicStoreRemoveValue(_session.Value, cfKey.Value) != 0 ? kSCStatusOK : SC.SCError();
    }

    /// <inheritdoc/>
    public MacOSStoreDictionary? Copy(string key)
    {
        using SafeCFTypeHandle cfKey = CreateString(key);
        using var value = new SafeCFTypeHandle(SC.SCDynamicStoreCopyValue(_session.Value, cfKey.Value));
        return value.IsInvalid ? null : ReadDictionary(value.Value);
    }

    /// <summary>Closes the session.</summary>
    public void Dispose() => _session.Dispose();

    /// <summary>A CFString (UTF-8).</summary>
    private static SafeCFTypeHandle CreateString(string text)
    {
        byte[] utf8 = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, utf8);
        fixed (byte* p = utf8)
        {
            return Created(CF.CFStringCreateWithCString(0, p, kCFStringEncodingUTF8), "CFString");
        }
    }

    /// <summary>A CFDictionary with CFString keys and kCFType callbacks (it retains what it holds).</summary>
    private static SafeCFTypeHandle CreateDictionary(MacOSStoreDictionary dictionary)
    {
        var owned = new List<SafeCFTypeHandle>();
        try
        {
            int count = dictionary.Count;
            nint[] keys = new nint[count];
            nint[] values = new nint[count];
            int i = 0;
            foreach ((string key, MacOSStoreValue value) in dictionary.Entries)
            {
                SafeCFTypeHandle cfKey = CreateString(key);
                owned.Add(cfKey);
                SafeCFTypeHandle cfValue = CreateValue(value);
                owned.Add(cfValue);
                keys[i] = cfKey.Value;
                values[i] = cfValue.Value;
                i++;
            }

            fixed (nint* k = keys)
            fixed (nint* v = values)
            {
                return Created(CF.CFDictionaryCreate(0, k, v, count, CF.TypeDictionaryKeyCallBacks, CF.TypeDictionaryValueCallBacks), "CFDictionary");
            }
        }
        finally
        {
            foreach (SafeCFTypeHandle handle in owned)
            {
                handle.Dispose();
            }
        }
    }

    private static SafeCFTypeHandle CreateValue(MacOSStoreValue value)
    {
        if (value.IsString)
        {
            return CreateString(value.Text);
        }

        if (value.IsNumber)
        {
            int number = value.NumberValue;
            return Created(CF.CFNumberCreate(0, kCFNumberSInt32Type, &number), "CFNumber");
        }

        if (!value.IsStrings)
        {
            throw new ArgumentException($"Steer does not write dynamic-store values like {value}.", nameof(value));
        }

        IReadOnlyList<string> texts = value.Texts;
        var owned = new List<SafeCFTypeHandle>(texts.Count);
        try
        {
            nint[] items = new nint[texts.Count];
            for (int i = 0; i < texts.Count; i++)
            {
                SafeCFTypeHandle item = CreateString(texts[i]);
                owned.Add(item);
                items[i] = item.Value;
            }

            fixed (nint* p = items)
            {
                return Created(CF.CFArrayCreate(0, p, items.Length, CF.TypeArrayCallBacks), "CFArray");
            }
        }
        finally
        {
            foreach (SafeCFTypeHandle handle in owned)
            {
                handle.Dispose();
            }
        }
    }

    private static SafeCFTypeHandle Created(nint cf, string what)
        => cf != 0 ? new SafeCFTypeHandle(cf) : throw new TunException($"CoreFoundation could not create a {what} (out of memory).");

    /// <summary>A dictionary read back: strings, arrays of strings and 32-bit numbers as such, anything else described.</summary>
    private static MacOSStoreDictionary ReadDictionary(nint cf)
    {
        if (CF.CFGetTypeID(cf) != CF.CFDictionaryGetTypeID())
        {
            return MacOSStoreDictionary.NotADictionary("CF type " + CF.CFGetTypeID(cf).ToString(CultureInfo.InvariantCulture));
        }

        int count = checked((int)CF.CFDictionaryGetCount(cf));
        nint[] keys = new nint[count];
        nint[] values = new nint[count];
        fixed (nint* k = keys)
        fixed (nint* v = values)
        {
            CF.CFDictionaryGetKeysAndValues(cf, k, v); // borrowed references, valid while cf is
        }

        var result = new MacOSStoreDictionary();
        for (int i = 0; i < count; i++)
        {
            string? key = ReadString(keys[i]);
            result.Set(key ?? "<key of CF type " + CF.CFGetTypeID(keys[i]).ToString(CultureInfo.InvariantCulture) + ">", ReadValue(values[i]));
        }

        return result;
    }

    private static MacOSStoreValue ReadValue(nint cf)
    {
        nuint type = CF.CFGetTypeID(cf);
        if (type == CF.CFStringGetTypeID())
        {
            return ReadString(cf) is { } text ? MacOSStoreValue.String(text) : MacOSStoreValue.Other("unreadable string");
        }

        if (type == CF.CFNumberGetTypeID())
        {
            int number;
            return CF.CFNumberGetValue(cf, kCFNumberSInt32Type, &number) != 0 ? MacOSStoreValue.Number(number) : MacOSStoreValue.Other("number beyond 32 bits");
        }

        if (type == CF.CFArrayGetTypeID())
        {
            int count = checked((int)CF.CFArrayGetCount(cf));
            var texts = new List<string>(count);
            for (int i = 0; i < count; i++)
            {
                nint item = CF.CFArrayGetValueAtIndex(cf, i);
                if (CF.CFGetTypeID(item) != CF.CFStringGetTypeID() || ReadString(item) is not { } text)
                {
                    return MacOSStoreValue.Other("array holding CF type " + CF.CFGetTypeID(item).ToString(CultureInfo.InvariantCulture));
                }

                texts.Add(text);
            }

            return MacOSStoreValue.Strings(texts);
        }

        return MacOSStoreValue.Other("CF type " + type.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A CFString as a .NET string; null when <paramref name="cf"/> is not a string or cannot be converted.</summary>
    private static string? ReadString(nint cf)
    {
        if (CF.CFGetTypeID(cf) != CF.CFStringGetTypeID())
        {
            return null;
        }

        // At most 3 UTF-8 bytes per UTF-16 code unit (a surrogate pair, 2 units, makes 4), plus the NUL.
        int size = checked((int)(CF.CFStringGetLength(cf) * 3) + 1);
        byte[] buffer = new byte[size];
        fixed (byte* p = buffer)
        {
            if (CF.CFStringGetCString(cf, p, size, kCFStringEncodingUTF8) == 0)
            {
                return null;
            }
        }

        int length = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, length < 0 ? size : length);
    }
}
