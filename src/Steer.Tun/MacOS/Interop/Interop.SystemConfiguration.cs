using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Steer.Tun.MacOS;

#pragma warning disable CS8981 // native names are kept as in the C headers
internal static partial class Interop
{
    /// <summary>
    /// The status codes <c>SCError()</c> returns (<c>SystemConfiguration/SCError.h</c>). Kept apart from the calls so
    /// that they are unit-tested on any OS.
    /// </summary>
    internal static class SystemConfigurationStatus
    {
        /// <summary><c>kSCStatusOK</c>: success.</summary>
        internal const int kSCStatusOK = 0;

        /// <summary><c>kSCStatusFailed</c>: non-specific failure.</summary>
        internal const int kSCStatusFailed = 1001;

        /// <summary><c>kSCStatusInvalidArgument</c>.</summary>
        internal const int kSCStatusInvalidArgument = 1002;

        /// <summary><c>kSCStatusAccessError</c>: permission denied (writing the dynamic store needs root).</summary>
        internal const int kSCStatusAccessError = 1003;

        /// <summary><c>kSCStatusNoKey</c>: no such key.</summary>
        internal const int kSCStatusNoKey = 1004;

        /// <summary><c>kSCStatusKeyExists</c>: the key is already defined.</summary>
        internal const int kSCStatusKeyExists = 1005;

        /// <summary><c>kSCStatusNoStoreSession</c>: the configuration daemon session is not active.</summary>
        internal const int kSCStatusNoStoreSession = 2001;

        /// <summary><c>kSCStatusNoStoreServer</c>: the configuration daemon is not (no longer) available.</summary>
        internal const int kSCStatusNoStoreServer = 2002;
    }

    /// <summary>
    /// The SCDynamicStore calls of SystemConfiguration (<c>SystemConfiguration/SCDynamicStore.h</c>). A session is a
    /// CF object owned by the caller (release it with CFRelease: <see cref="SafeCFTypeHandle"/>); closing it makes
    /// configd drop the keys the session added with <see cref="SCDynamicStoreAddTemporaryValue"/>.
    /// </summary>
    [SupportedOSPlatform("macos")]
    internal static partial class SystemConfiguration
    {
        /// <summary>
        /// <c>SCDynamicStoreRef SCDynamicStoreCreate(CFAllocatorRef allocator, CFStringRef name, SCDynamicStoreCallBack callout,
        /// SCDynamicStoreContext *context)</c>; NULL on failure (see <see cref="SCError"/>). No callout: Steer only reads and writes.
        /// </summary>
        [LibraryImport(Libraries.SystemConfiguration, EntryPoint = "SCDynamicStoreCreate")]
        internal static partial nint SCDynamicStoreCreate(nint allocator, nint name, nint callout, nint context);

        /// <summary><c>CFPropertyListRef SCDynamicStoreCopyValue(SCDynamicStoreRef store, CFStringRef key)</c>: owned; NULL when there is no such key.</summary>
        [LibraryImport(Libraries.SystemConfiguration, EntryPoint = "SCDynamicStoreCopyValue")]
        internal static partial nint SCDynamicStoreCopyValue(nint store, nint key);

        /// <summary><c>Boolean SCDynamicStoreSetValue(SCDynamicStoreRef store, CFStringRef key, CFPropertyListRef value)</c>.</summary>
        [LibraryImport(Libraries.SystemConfiguration, EntryPoint = "SCDynamicStoreSetValue")]
        internal static partial byte SCDynamicStoreSetValue(nint store, nint key, nint value);

        /// <summary>
        /// <c>Boolean SCDynamicStoreAddTemporaryValue(SCDynamicStoreRef store, CFStringRef key, CFPropertyListRef value)</c>:
        /// adds the key if it does not exist yet; "unless the key is updated by another session, the key-value pair will be
        /// removed automatically when the session is closed" (SCDynamicStore.h) — also when the process is killed.
        /// </summary>
        [LibraryImport(Libraries.SystemConfiguration, EntryPoint = "SCDynamicStoreAddTemporaryValue")]
        internal static partial byte SCDynamicStoreAddTemporaryValue(nint store, nint key, nint value);

        /// <summary><c>Boolean SCDynamicStoreRemoveValue(SCDynamicStoreRef store, CFStringRef key)</c>.</summary>
        [LibraryImport(Libraries.SystemConfiguration, EntryPoint = "SCDynamicStoreRemoveValue")]
        internal static partial byte SCDynamicStoreRemoveValue(nint store, nint key);

        /// <summary><c>int SCError(void)</c>: the status of the last SystemConfiguration call on this thread (<see cref="SystemConfigurationStatus"/>).</summary>
        [LibraryImport(Libraries.SystemConfiguration, EntryPoint = "SCError")]
        internal static partial int SCError();
    }
}
#pragma warning restore CS8981
