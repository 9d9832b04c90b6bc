using Microsoft.Win32.SafeHandles;

namespace Steer.Tun.Windows;

/// <summary>
/// Owns a <c>WINTUN_SESSION_HANDLE</c>; releasing it calls <c>WintunEndSession</c>, which frees the rings. Readers
/// and writers hold a reference (DangerousAddRef) while they touch ring memory, so the session ends only after them;
/// the session in turn holds a reference on its adapter, so the adapter is closed only after the session ended.
/// </summary>
internal sealed class SafeWintunSessionHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private SafeWintunAdapterHandle? _adapter;

    /// <summary>Called by the LibraryImport marshaller.</summary>
    public SafeWintunSessionHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>Keeps <paramref name="adapter"/> open until this session has ended.</summary>
    internal void HoldAdapter(SafeWintunAdapterHandle adapter)
    {
        bool added = false;
        adapter.DangerousAddRef(ref added);
        _adapter = adapter;
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        Interop.Wintun.WintunEndSession(handle);
        _adapter?.DangerousRelease();
        return true;
    }
}
