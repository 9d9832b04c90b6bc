using System.Runtime.InteropServices;

namespace Steer.Tun.MacOS;

internal static partial class Interop
{
    /// <summary>Socket, descriptor and interface-name calls of the macOS C library.</summary>
    internal static partial class Libc
    {
        /// <summary><c>int socket(int domain, int type, int protocol)</c>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "socket", SetLastError = true)]
        internal static partial int socket(int domain, int type, int protocol);

        /// <summary><c>int connect(int socket, const struct sockaddr *address, socklen_t address_len)</c>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "connect", SetLastError = true)]
        internal static unsafe partial int connect(int socket, void* address, uint addressLength);

        /// <summary><c>int getsockopt(int socket, int level, int option_name, void *option_value, socklen_t *option_len)</c>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "getsockopt", SetLastError = true)]
        internal static unsafe partial int getsockopt(int socket, int level, int optionName, void* optionValue, uint* optionLength);

        /// <summary><c>int setsockopt(int socket, int level, int option_name, const void *option_value, socklen_t option_len)</c>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        internal static unsafe partial int setsockopt(int socket, int level, int optionName, void* optionValue, uint optionLength);

        /// <summary><c>int shutdown(int socket, int how)</c>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "shutdown", SetLastError = true)]
        internal static partial int shutdown(int socket, int how);

        /// <summary><c>int close(int fd)</c>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
        internal static partial int close(int fd);

        /// <summary><c>ssize_t read(int fd, void *buf, size_t nbyte)</c>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
        internal static unsafe partial nint read(int fd, void* buffer, nint count);

        /// <summary><c>ssize_t write(int fd, const void *buf, size_t nbyte)</c>.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
        internal static unsafe partial nint write(int fd, void* buffer, nint count);

        /// <summary><c>unsigned int if_nametoindex(const char *ifname)</c>; 0 when there is no such interface.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "if_nametoindex", SetLastError = true)]
        internal static unsafe partial uint if_nametoindex(byte* name);

        /// <summary><c>char *if_indextoname(unsigned int ifindex, char *ifname)</c>; NULL when there is no such interface.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "if_indextoname", SetLastError = true)]
        internal static unsafe partial byte* if_indextoname(uint index, byte* name);
    }
}
