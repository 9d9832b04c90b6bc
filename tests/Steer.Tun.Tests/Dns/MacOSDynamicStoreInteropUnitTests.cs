using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Steer.Tun.MacOS;
using static Steer.Tun.MacOS.Interop.CoreFoundationConstants;
using static Steer.Tun.MacOS.Interop.SystemConfigurationStatus;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// The CoreFoundation and SystemConfiguration constants and declarations the dynamic-store code relies on, checked
/// against the values in Apple's headers (CFString.h, CFNumber.h, SCError.h) and the C prototypes. The calls
/// themselves only run on a Mac.
/// </summary>
public sealed class MacOSDynamicStoreInteropUnitTests
{
    [Fact]
    public void CoreFoundationConstants_HaveTheHeaderValues()
    {
        Assert.Equal(0x08000100u, kCFStringEncodingUTF8); // kCFStringEncodingUTF8 = 0x08000100
        Assert.Equal(3, kCFNumberSInt32Type);
        Assert.Equal(4, kCFNumberSInt64Type);
        Assert.Equal("kCFTypeArrayCallBacks", Interop.CoreFoundationConstants.kCFTypeArrayCallBacks);
        Assert.Equal("kCFTypeDictionaryKeyCallBacks", Interop.CoreFoundationConstants.kCFTypeDictionaryKeyCallBacks);
        Assert.Equal("kCFTypeDictionaryValueCallBacks", Interop.CoreFoundationConstants.kCFTypeDictionaryValueCallBacks);
    }

    [Fact]
    public void SystemConfigurationStatus_HasTheSCErrorValues()
    {
        Assert.Equal(0, kSCStatusOK);
        Assert.Equal(1001, kSCStatusFailed);
        Assert.Equal(1002, kSCStatusInvalidArgument);
        Assert.Equal(1003, kSCStatusAccessError);
        Assert.Equal(1004, kSCStatusNoKey);
        Assert.Equal(1005, kSCStatusKeyExists);
        Assert.Equal(2001, kSCStatusNoStoreSession);
        Assert.Equal(2002, kSCStatusNoStoreServer);
    }

    [Fact]
    public void Libraries_AreTheFrameworkBinaries()
    {
        Assert.Equal("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation", Interop.Libraries.CoreFoundation);
        Assert.Equal("/System/Library/Frameworks/SystemConfiguration.framework/SystemConfiguration", Interop.Libraries.SystemConfiguration);
    }

    [Theory]
    [InlineData(typeof(Interop.CoreFoundation), Interop.Libraries.CoreFoundation)]
    [InlineData(typeof(Interop.SystemConfiguration), Interop.Libraries.SystemConfiguration)]
    public void Declarations_AreMacOSOnlyLibraryImportsOfTheirFramework_WithEntryPointsNamedAsTheMethods(Type type, string library)
    {
        Assert.Contains(type.GetCustomAttributes<SupportedOSPlatformAttribute>(), a => a.PlatformName == "macos");
        MethodInfo[] imports = type.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null)
            .ToArray();
        Assert.NotEmpty(imports);
        foreach (MethodInfo method in imports)
        {
            LibraryImportAttribute import = method.GetCustomAttribute<LibraryImportAttribute>()!;
            Assert.Equal(library, import.LibraryName);
            Assert.Equal(method.Name, import.EntryPoint);

            // Blittable only: CF "Boolean" is an unsigned char, declared as byte, never as a marshalled bool.
            Assert.NotEqual(typeof(bool), method.ReturnType);
            Assert.DoesNotContain(method.GetParameters(), p => p.ParameterType == typeof(bool) || p.ParameterType == typeof(string));
        }
    }

    [Theory]
    [InlineData("CFGetTypeID", typeof(nuint))] // CFTypeID: unsigned long
    [InlineData("CFStringGetTypeID", typeof(nuint))]
    [InlineData("CFArrayGetCount", typeof(nint))] // CFIndex: signed long
    [InlineData("CFDictionaryGetCount", typeof(nint))]
    [InlineData("CFStringGetLength", typeof(nint))]
    [InlineData("CFStringGetCString", typeof(byte))] // Boolean: unsigned char
    [InlineData("CFNumberGetValue", typeof(byte))]
    public void CoreFoundation_ReturnTypes_MatchTheCTypes(string name, Type returnType)
    {
        Assert.Equal(returnType, typeof(Interop.CoreFoundation).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)!.ReturnType);
    }

    [Fact]
    public void CFIndexAndCFTypeID_AreEightBytesOn64BitProcesses()
    {
        // Steer runs as a 64-bit process on macOS (osx-x64, osx-arm64), where long is 8 bytes (LP64).
        Assert.Equal(8, IntPtr.Size);
        Assert.Equal(8, Marshal.SizeOf<nint>());
        Assert.Equal(8, Marshal.SizeOf<nuint>());
    }
}
