using System.Reflection;
using System.Runtime.InteropServices;

namespace Steer.Tun.Windows;

/// <summary>
/// Loads <c>wintun.dll</c>, which Steer does not ship: the user downloads it and places it next to steer.exe. A
/// missing or unusable DLL becomes a <see cref="TunException"/> that says where to get it and where to put it, instead
/// of a <see cref="DllNotFoundException"/> on the first Wintun call. Platform-neutral (only <see cref="NativeLibrary"/>),
/// so the message is unit-tested on any OS.
/// </summary>
internal static class WintunLibrary
{
    /// <summary>The DLL's file name.</summary>
    internal const string FileName = Interop.Libraries.Wintun;

    /// <summary>Where Wintun is published.</summary>
    internal const string DownloadUrl = "https://www.wintun.net/";

    /// <summary>
    /// Where the DLL is looked for, here and by the LibraryImport declarations: next to the assembly and the
    /// application, and System32; never the current directory or PATH (no DLL planting).
    /// </summary>
    internal const DllImportSearchPath SearchPaths =
        DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.ApplicationDirectory | DllImportSearchPath.System32;

    /// <summary>The exports of Wintun 0.14 that Steer calls; an older DLL lacks some of them.</summary>
    internal static readonly string[] RequiredExports =
    [
        "WintunCreateAdapter",
        "WintunCloseAdapter",
        "WintunGetAdapterLUID",
        "WintunStartSession",
        "WintunEndSession",
        "WintunGetReadWaitEvent",
        "WintunReceivePacket",
        "WintunReleaseReceivePacket",
        "WintunAllocateSendPacket",
        "WintunSendPacket",
    ];

    private static int s_loaded;

    /// <summary>Loads the DLL once per process and checks its exports.</summary>
    /// <exception cref="TunException">The DLL is missing, is for another architecture, or is too old.</exception>
    internal static void EnsureLoaded() => EnsureLoaded(FileName, typeof(WintunLibrary).Assembly);

    /// <summary>Loads <paramref name="fileName"/> as <see cref="EnsureLoaded()"/> does (the file name is a test seam).</summary>
    internal static void EnsureLoaded(string fileName, Assembly assembly)
    {
        if (Volatile.Read(ref s_loaded) != 0)
        {
            return;
        }

        if (!NativeLibrary.TryLoad(fileName, assembly, SearchPaths, out nint library))
        {
            throw MissingLibrary(AppContext.BaseDirectory, RuntimeInformation.ProcessArchitecture);
        }

        foreach (string export in RequiredExports)
        {
            if (!NativeLibrary.TryGetExport(library, export, out _))
            {
                throw new TunException(
                    $"The wintun.dll next to steer.exe is too old: it has no {export}. Download the current Wintun from {DownloadUrl} " +
                    $"and replace wintun.dll with the one from the zip's bin\\{ArchitectureFolder(RuntimeInformation.ProcessArchitecture)} folder.")
                {
                    ErrorCode = Interop.Errors.ERROR_PROC_NOT_FOUND,
                };
            }
        }

        Volatile.Write(ref s_loaded, 1);
    }

    /// <summary>The error for a DLL that could not be loaded.</summary>
    /// <param name="directory">The directory steer.exe runs from.</param>
    /// <param name="architecture">The process architecture, which the DLL must match.</param>
    internal static TunException MissingLibrary(string directory, Architecture architecture)
        => new(
            $"wintun.dll could not be loaded, and Steer needs it to create its network adapter on Windows. " +
            $"Download Wintun from {DownloadUrl}, and place wintun.dll from the zip's bin\\{ArchitectureFolder(architecture)} folder " +
            $"(it must match this {architecture} process) next to steer.exe, in {directory}.")
        {
            ErrorCode = Interop.Errors.ERROR_MOD_NOT_FOUND,
        };

    /// <summary>The folder of the Wintun zip that holds the DLL for <paramref name="architecture"/>.</summary>
    internal static string ArchitectureFolder(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.X86 => "x86",
        Architecture.Arm => "arm",
        _ => architecture.ToString().ToLowerInvariant(),
    };
}
