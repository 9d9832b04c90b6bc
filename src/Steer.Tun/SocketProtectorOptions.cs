namespace Steer.Tun;

/// <summary>
/// Options of the <see cref="ISocketProtector"/> made by <see cref="SocketProtector.Create"/>. The protector keeps this
/// object and reads it at every <see cref="ISocketProtector.Protect"/> call, so changing a property (for example
/// <see cref="InterfaceIndex"/> when the physical interface changes) applies to the sockets protected afterwards;
/// sockets protected earlier keep what they were given.
/// </summary>
public sealed class SocketProtectorOptions
{
    /// <summary>The default <see cref="FirewallMark"/>: 0x5354, "ST".</summary>
    public const uint DefaultFirewallMark = 0x5354;

    private int _interfaceIndex;

    /// <summary>
    /// Linux: the <c>SO_MARK</c> value set on every protected socket (0 = none). Pair it with a policy rule such as
    /// <c>ip rule add fwmark 0x5354 lookup main</c> placed before the rule that sends traffic into the tunnel's table.
    /// Setting the mark needs CAP_NET_ADMIN. Ignored on macOS and Windows.
    /// </summary>
    /// <remarks>Defaults to <see cref="DefaultFirewallMark"/>.</remarks>
    public uint FirewallMark { get; set; } = DefaultFirewallMark;

    /// <summary>
    /// macOS and Windows: the index of the physical interface the protected sockets are bound to (0 = not bound).
    /// Ignored on Linux, which uses <see cref="FirewallMark"/> and policy routing instead.
    /// </summary>
    /// <remarks>Defaults to 0. May be changed while the protector is in use.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int InterfaceIndex
    {
        get => Volatile.Read(ref _interfaceIndex);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(InterfaceIndex));
            Volatile.Write(ref _interfaceIndex, value);
        }
    }
}
