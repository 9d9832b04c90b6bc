using System.Runtime.Versioning;

namespace Steer.Tun.Linux;

/// <summary>Reads and writes one kernel setting under <c>/proc/sys</c>.</summary>
[SupportedOSPlatform("linux")]
internal static class LinuxSysctl
{
    /// <summary>IPv4 forwarding.</summary>
    internal const string Ipv4Forward = "/proc/sys/net/ipv4/ip_forward";

    /// <summary>IPv6 forwarding for all interfaces.</summary>
    internal const string Ipv6ForwardAll = "/proc/sys/net/ipv6/conf/all/forwarding";

    /// <summary>Reads a setting, without the trailing newline.</summary>
    /// <exception cref="TunException">The setting could not be read.</exception>
    internal static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TunException($"Cannot read {path}: {e.Message}", e);
        }
    }

    /// <summary>Writes a setting.</summary>
    /// <exception cref="TunException">The setting could not be written; permission problems carry the root hint.</exception>
    internal static void Write(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value + "\n");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TunException(
                $"Cannot set {path} to {value}: this needs root ({e.Message}); CAP_NET_ADMIN alone cannot write /proc/sys. Run with sudo.", e)
            {
                ErrorCode = LinuxErrors.EACCES,
                IsPermissionDenied = true,
            };
        }
        catch (IOException e)
        {
            throw new TunException($"Cannot set {path} to {value}: {e.Message}", e);
        }
    }
}
