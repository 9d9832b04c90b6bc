using System.Runtime.InteropServices;
using Steer.Tun.Windows;

namespace Steer.Tun.Tests.Windows;

/// <summary>
/// The wintun.dll loader runs everywhere: on Linux the DLL can never load, which is exactly the "missing DLL" case a
/// Windows user without wintun.dll hits.
/// </summary>
public sealed class WintunLibraryUnitTests
{
    [Fact]
    public void EnsureLoaded_WithoutWintun_ThrowsTunExceptionWithDownloadHint()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows() && File.Exists(Path.Combine(AppContext.BaseDirectory, "wintun.dll")), "wintun.dll is present here.");

        TunException e = Assert.Throws<TunException>(WintunLibrary.EnsureLoaded);

        Assert.Contains("https://www.wintun.net/", e.Message, StringComparison.Ordinal);
        Assert.Contains("wintun.dll", e.Message, StringComparison.Ordinal);
        Assert.Contains("next to steer.exe", e.Message, StringComparison.Ordinal);
        Assert.Contains(AppContext.BaseDirectory, e.Message, StringComparison.Ordinal);
        Assert.Contains($"bin\\{WintunLibrary.ArchitectureFolder(RuntimeInformation.ProcessArchitecture)}", e.Message, StringComparison.Ordinal);
        Assert.Equal(126, e.ErrorCode); // ERROR_MOD_NOT_FOUND
        Assert.False(e.IsPermissionDenied);
    }

    [Fact]
    public void EnsureLoaded_LibraryWithoutWintunExports_SaysItIsTooOld()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Uses the C library as a DLL that loads but is not Wintun.");

        TunException e = Assert.Throws<TunException>(() => WintunLibrary.EnsureLoaded("libc.so.6", typeof(WintunLibrary).Assembly));

        Assert.Contains("too old: it has no WintunCreateAdapter", e.Message, StringComparison.Ordinal);
        Assert.Contains("https://www.wintun.net/", e.Message, StringComparison.Ordinal);
        Assert.Equal(127, e.ErrorCode); // ERROR_PROC_NOT_FOUND
    }

    [Theory]
    [InlineData(Architecture.X64, "amd64")]
    [InlineData(Architecture.Arm64, "arm64")]
    [InlineData(Architecture.X86, "x86")]
    [InlineData(Architecture.Arm, "arm")]
    public void MissingLibrary_NamesTheZipFolderOfTheArchitecture(Architecture architecture, string folder)
    {
        TunException e = WintunLibrary.MissingLibrary(@"C:\Program Files\Steer\", architecture);

        Assert.Equal(
            "wintun.dll could not be loaded, and Steer needs it to create its network adapter on Windows. " +
            $"Download Wintun from https://www.wintun.net/, and place wintun.dll from the zip's bin\\{folder} folder " +
            $"(it must match this {architecture} process) next to steer.exe, in C:\\Program Files\\Steer\\.",
            e.Message);
    }
}
