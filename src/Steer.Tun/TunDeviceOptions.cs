using System.Text;

namespace Steer.Tun;

/// <summary>Options for <see cref="TunDevice.Create"/>.</summary>
public sealed class TunDeviceOptions
{
    /// <summary>The smallest MTU accepted (the IPv4 minimum datagram size every host must accept).</summary>
    public const int MinMtu = 576;

    /// <summary>The largest MTU accepted.</summary>
    public const int MaxMtu = 65535;

    /// <summary>The longest interface name Linux accepts, in bytes (IFNAMSIZ - 1).</summary>
    public const int MaxNameBytes = 15;

    /// <summary>
    /// Interface name (at most 15 bytes on Linux). A name with <c>%d</c> lets the kernel pick a free number.
    /// Default: <c>steer%d</c>.
    /// </summary>
    public string Name { get; set; } = "steer%d";

    /// <summary>MTU of the interface in bytes (576–65535). Default 1400.</summary>
    public int Mtu { get; set; } = 1400;

    /// <summary>
    /// Linux: ask the kernel for TUN offloads (IFF_VNET_HDR with checksum and TCP segmentation offload), so that one
    /// read can carry a TCP super-packet of up to 64 KiB, which the device cuts into MTU-sized segments itself; reads and
    /// writes still carry one IP packet each. When the kernel refuses, the device works without them (see
    /// <see cref="ITunDevice.OffloadEnabled"/>). Ignored on macOS and Windows. Default true.
    /// </summary>
    public bool Offload { get; set; } = true;

    /// <summary>
    /// The TUN_F_* flags passed to TUNSETOFFLOAD (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6). Tests set an invalid bit to
    /// exercise the fallback when the kernel refuses.
    /// </summary>
    internal uint OffloadFlags { get; set; } = 0x01 | 0x02 | 0x04;

    /// <summary>Checks the options; the exception names the offending option.</summary>
    /// <param name="argumentName">The caller's parameter name, used as the prefix of the option's name.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    internal void Validate(string argumentName)
    {
        string nameParam = argumentName + "." + nameof(Name);
        string? name = Name;
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("TunDeviceOptions.Name must not be empty.", nameParam);
        }

        int bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes > MaxNameBytes)
        {
            throw new ArgumentException(
                $"TunDeviceOptions.Name '{name}' is {bytes} bytes long; Linux interface names are at most {MaxNameBytes} bytes.",
                nameParam);
        }

        if (name is "." or ".." || name.AsSpan().IndexOfAny("/: \t\r\n\0") >= 0)
        {
            throw new ArgumentException(
                $"TunDeviceOptions.Name '{name}' is not a valid interface name (no '/', ':', whitespace, '.' or '..').",
                nameParam);
        }

        int percent = name.IndexOf('%', StringComparison.Ordinal);
        if (percent >= 0 && (percent + 1 >= name.Length || name[percent + 1] != 'd' || name.IndexOf('%', percent + 2) >= 0))
        {
            throw new ArgumentException(
                $"TunDeviceOptions.Name '{name}' may contain '%' only as a single '%d' placeholder.",
                nameParam);
        }

        if (Mtu is < MinMtu or > MaxMtu)
        {
            throw new ArgumentException(
                $"TunDeviceOptions.Mtu {Mtu} is out of range; it must be between {MinMtu} and {MaxMtu}.",
                argumentName + "." + nameof(Mtu));
        }
    }
}
