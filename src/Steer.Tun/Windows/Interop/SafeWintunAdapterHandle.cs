using Microsoft.Win32.SafeHandles;

namespace Steer.Tun.Windows;

/// <summary>Owns a <c>WINTUN_ADAPTER_HANDLE</c>; releasing it calls <c>WintunCloseAdapter</c>, which removes the adapter.</summary>
internal sealed class SafeWintunAdapterHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Called by the LibraryImport marshaller.</summary>
    public SafeWintunAdapterHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        Interop.Wintun.WintunCloseAdapter(handle);
        return true;
    }
}
