using System.Runtime.InteropServices;

namespace Steer.Bench;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>setns(2) flag for a network namespace.</summary>
        internal const int CLONE_NEWNET = 0x40000000;

        /// <summary>Moves the calling thread into the namespace referred to by <paramref name="fd"/>.</summary>
        [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
        internal static partial int Setns(SafeHandle fd, int nstype);
    }
}
