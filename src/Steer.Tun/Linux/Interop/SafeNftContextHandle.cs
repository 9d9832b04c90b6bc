using Microsoft.Win32.SafeHandles;

namespace Steer.Tun.Linux;

/// <summary>Owns a libnftables <c>struct nft_ctx*</c>; releasing it calls <c>nft_ctx_free</c>.</summary>
internal sealed class SafeNftContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Called by the LibraryImport marshaller.</summary>
    public SafeNftContextHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        Interop.Nftables.nft_ctx_free(handle);
        return true;
    }
}
