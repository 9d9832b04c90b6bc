using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Steer.Tun.Linux;

/// <summary>Owns a plain file descriptor (here: the rtnetlink socket); releasing it calls <c>close</c>.</summary>
internal sealed class SafeFileDescriptorHandle : SafeHandleMinusOneIsInvalid
{
    /// <summary>Takes ownership of <paramref name="fd"/>.</summary>
    public SafeFileDescriptorHandle(int fd)
        : base(ownsHandle: true)
    {
        SetHandle(fd);
    }

    /// <summary>The descriptor as an int (valid while the handle is alive and referenced).</summary>
    public int Fd => (int)handle;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => close((int)handle) == 0;
}
