namespace Steer.Lab;

internal static partial class Interop
{
    internal static class Libraries
    {
        /// <summary>The C library; the lab runs on Linux only (glibc and musl both resolve "libc").</summary>
        internal const string Libc = "libc";
    }
}
