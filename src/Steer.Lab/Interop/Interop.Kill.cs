using System.Runtime.InteropServices;

namespace Steer.Lab;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int SIGHUP = 1;
        internal const int SIGINT = 2;
        internal const int SIGKILL = 9;
        internal const int SIGTERM = 15;

        internal const int ESRCH = 3;

        /// <summary>kill(2): sends <paramref name="sig"/> to <paramref name="pid"/>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "kill", SetLastError = true)]
        internal static partial int Kill(int pid, int sig);
    }
}
