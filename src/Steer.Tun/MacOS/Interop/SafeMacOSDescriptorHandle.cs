using Microsoft.Win32.SafeHandles;

namespace Steer.Tun.MacOS;

/// <summary>Owns a macOS file descriptor (a routing or control socket); releasing it calls <c>close</c>.</summary>
internal sealed class SafeMacOSDescriptorHandle : SafeHandleMinusOneIsInvalid
{
    /// <summary>Takes ownership of <paramref name="fd"/>.</summary>
    public SafeMacOSDescriptorHandle(int fd)
        : base(ownsHandle: true)
    {
        SetHandle(fd);
    }

    /// <summary>The descriptor as an int (valid while the handle is alive and referenced).</summary>
    public int Fd => (int)handle;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Interop.Libc.close((int)handle) == 0;
}
