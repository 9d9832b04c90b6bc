using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Steer.Tun.MacOS;

/// <summary>
/// Owns one reference to a CoreFoundation object (a CFString, CFArray, CFDictionary, CFNumber, or an SCDynamicStore
/// session) returned by a <c>Create</c> or <c>Copy</c> function; releasing it calls <c>CFRelease</c>. NULL is invalid.
/// </summary>
[SupportedOSPlatform("macos")]
internal sealed class SafeCFTypeHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Takes ownership of <paramref name="cf"/> (which may be NULL: the handle is then invalid).</summary>
    internal SafeCFTypeHandle(nint cf)
        : base(ownsHandle: true)
    {
        SetHandle(cf);
    }

    /// <summary>The object reference (valid while the handle is alive).</summary>
    internal nint Value => handle;

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        Interop.CoreFoundation.CFRelease(handle);
        return true;
    }
}
