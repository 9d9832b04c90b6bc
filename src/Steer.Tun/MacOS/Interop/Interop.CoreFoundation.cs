using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Steer.Tun.MacOS;

#pragma warning disable CS8981 // native names are kept as in the C headers
internal static partial class Interop
{
    /// <summary>
    /// Constants from CoreFoundation's headers (<c>CFString.h</c>, <c>CFNumber.h</c>, <c>CFArray.h</c>,
    /// <c>CFDictionary.h</c>). Kept apart from the calls so that they are unit-tested on any OS.
    /// </summary>
    /// <remarks>
    /// Type sizes on 64-bit macOS (arm64 and x86_64, LP64): <c>CFIndex</c> is <c>signed long</c> (8 bytes, <see cref="nint"/>),
    /// <c>CFTypeID</c> is <c>unsigned long</c> (8 bytes, <see cref="nuint"/>), <c>CFStringEncoding</c> is <c>UInt32</c>,
    /// <c>Boolean</c> is <c>unsigned char</c> (1 byte, declared as <see cref="byte"/> so the calls stay blittable), and
    /// <c>CFNumberType</c> is a <c>CF_ENUM(CFIndex, …)</c>, so it is passed as a <c>CFIndex</c>.
    /// </remarks>
    internal static class CoreFoundationConstants
    {
        /// <summary><c>kCFStringEncodingUTF8</c> = 0x08000100 (<c>CFStringBuiltInEncodings</c>).</summary>
        internal const uint kCFStringEncodingUTF8 = 0x08000100;

        /// <summary><c>kCFNumberSInt32Type</c> = 3 (<c>CFNumberType</c>).</summary>
        internal const int kCFNumberSInt32Type = 3;

        /// <summary><c>kCFNumberSInt64Type</c> = 4 (<c>CFNumberType</c>).</summary>
        internal const int kCFNumberSInt64Type = 4;

        /// <summary>
        /// Exported data symbol <c>const CFArrayCallBacks kCFTypeArrayCallBacks</c> (the callbacks retain and release
        /// CF values); its address is what CFArrayCreate takes.
        /// </summary>
        internal const string kCFTypeArrayCallBacks = "kCFTypeArrayCallBacks";

        /// <summary>Exported data symbol <c>const CFDictionaryKeyCallBacks kCFTypeDictionaryKeyCallBacks</c>.</summary>
        internal const string kCFTypeDictionaryKeyCallBacks = "kCFTypeDictionaryKeyCallBacks";

        /// <summary>Exported data symbol <c>const CFDictionaryValueCallBacks kCFTypeDictionaryValueCallBacks</c>.</summary>
        internal const string kCFTypeDictionaryValueCallBacks = "kCFTypeDictionaryValueCallBacks";
    }

    /// <summary>
    /// The CoreFoundation calls the SystemConfiguration code needs: building CFString, CFArray, CFNumber and
    /// CFDictionary values, reading them back, and releasing them. Every <c>Create</c>/<c>Copy</c> result is owned by
    /// the caller and released with <see cref="CFRelease"/> (wrap it in a <see cref="SafeCFTypeHandle"/>); values
    /// obtained with a <c>Get</c> function are borrowed from their container.
    /// </summary>
    [SupportedOSPlatform("macos")]
    internal static unsafe partial class CoreFoundation
    {
        private static nint s_library;

        /// <summary><c>void CFRelease(CFTypeRef cf)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFRelease")]
        internal static partial void CFRelease(nint cf);

        /// <summary><c>CFTypeID CFGetTypeID(CFTypeRef cf)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFGetTypeID")]
        internal static partial nuint CFGetTypeID(nint cf);

        /// <summary><c>CFTypeID CFStringGetTypeID(void)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFStringGetTypeID")]
        internal static partial nuint CFStringGetTypeID();

        /// <summary><c>CFTypeID CFArrayGetTypeID(void)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFArrayGetTypeID")]
        internal static partial nuint CFArrayGetTypeID();

        /// <summary><c>CFTypeID CFDictionaryGetTypeID(void)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFDictionaryGetTypeID")]
        internal static partial nuint CFDictionaryGetTypeID();

        /// <summary><c>CFTypeID CFNumberGetTypeID(void)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFNumberGetTypeID")]
        internal static partial nuint CFNumberGetTypeID();

        /// <summary><c>CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char *cStr, CFStringEncoding encoding)</c>; NULL on failure.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFStringCreateWithCString")]
        internal static partial nint CFStringCreateWithCString(nint allocator, byte* cString, uint encoding);

        /// <summary><c>CFIndex CFStringGetLength(CFStringRef theString)</c>: the length in UTF-16 code units.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFStringGetLength")]
        internal static partial nint CFStringGetLength(nint theString);

        /// <summary>
        /// <c>Boolean CFStringGetCString(CFStringRef theString, char *buffer, CFIndex bufferSize, CFStringEncoding encoding)</c>:
        /// the string as a NUL-terminated C string; false when the buffer is too small or the conversion fails.
        /// </summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFStringGetCString")]
        internal static partial byte CFStringGetCString(nint theString, byte* buffer, nint bufferSize, uint encoding);

        /// <summary><c>CFArrayRef CFArrayCreate(CFAllocatorRef allocator, const void **values, CFIndex numValues, const CFArrayCallBacks *callBacks)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFArrayCreate")]
        internal static partial nint CFArrayCreate(nint allocator, nint* values, nint numValues, nint callBacks);

        /// <summary><c>CFIndex CFArrayGetCount(CFArrayRef theArray)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFArrayGetCount")]
        internal static partial nint CFArrayGetCount(nint theArray);

        /// <summary><c>const void *CFArrayGetValueAtIndex(CFArrayRef theArray, CFIndex idx)</c> (borrowed).</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFArrayGetValueAtIndex")]
        internal static partial nint CFArrayGetValueAtIndex(nint theArray, nint index);

        /// <summary>
        /// <c>CFDictionaryRef CFDictionaryCreate(CFAllocatorRef allocator, const void **keys, const void **values, CFIndex numValues,
        /// const CFDictionaryKeyCallBacks *keyCallBacks, const CFDictionaryValueCallBacks *valueCallBacks)</c>.
        /// </summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFDictionaryCreate")]
        internal static partial nint CFDictionaryCreate(nint allocator, nint* keys, nint* values, nint numValues, nint keyCallBacks, nint valueCallBacks);

        /// <summary><c>CFIndex CFDictionaryGetCount(CFDictionaryRef theDict)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFDictionaryGetCount")]
        internal static partial nint CFDictionaryGetCount(nint theDict);

        /// <summary><c>void CFDictionaryGetKeysAndValues(CFDictionaryRef theDict, const void **keys, const void **values)</c> (borrowed).</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFDictionaryGetKeysAndValues")]
        internal static partial void CFDictionaryGetKeysAndValues(nint theDict, nint* keys, nint* values);

        /// <summary><c>const void *CFDictionaryGetValue(CFDictionaryRef theDict, const void *key)</c> (borrowed); NULL when absent.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFDictionaryGetValue")]
        internal static partial nint CFDictionaryGetValue(nint theDict, nint key);

        /// <summary><c>CFNumberRef CFNumberCreate(CFAllocatorRef allocator, CFNumberType theType, const void *valuePtr)</c>.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFNumberCreate")]
        internal static partial nint CFNumberCreate(nint allocator, nint theType, void* valuePtr);

        /// <summary><c>Boolean CFNumberGetValue(CFNumberRef number, CFNumberType theType, void *valuePtr)</c>; false when the value was converted lossily.</summary>
        [LibraryImport(Libraries.CoreFoundation, EntryPoint = "CFNumberGetValue")]
        internal static partial byte CFNumberGetValue(nint number, nint theType, void* valuePtr);

        /// <summary>The address of <c>kCFTypeArrayCallBacks</c>, for <see cref="CFArrayCreate"/>.</summary>
        internal static nint TypeArrayCallBacks => DataSymbol(CoreFoundationConstants.kCFTypeArrayCallBacks);

        /// <summary>The address of <c>kCFTypeDictionaryKeyCallBacks</c>, for <see cref="CFDictionaryCreate"/>.</summary>
        internal static nint TypeDictionaryKeyCallBacks => DataSymbol(CoreFoundationConstants.kCFTypeDictionaryKeyCallBacks);

        /// <summary>The address of <c>kCFTypeDictionaryValueCallBacks</c>, for <see cref="CFDictionaryCreate"/>.</summary>
        internal static nint TypeDictionaryValueCallBacks => DataSymbol(CoreFoundationConstants.kCFTypeDictionaryValueCallBacks);

        /// <summary>
        /// The address of an exported data symbol of CoreFoundation. These are structs, not functions: the functions
        /// above take their address, so it is passed as it is (never dereferenced here).
        /// </summary>
        private static nint DataSymbol(string name)
        {
            nint library = Volatile.Read(ref s_library);
            if (library == 0)
            {
                library = NativeLibrary.Load(Libraries.CoreFoundation);
                Volatile.Write(ref s_library, library); // loading twice is harmless: dlopen counts references
            }

            return NativeLibrary.GetExport(library, name);
        }
    }
}
#pragma warning restore CS8981
