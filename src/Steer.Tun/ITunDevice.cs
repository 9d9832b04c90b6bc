namespace Steer.Tun;

/// <summary>
/// A layer-3 virtual network interface (TUN). Each read returns one IP packet (IPv4 or IPv6, no extra header);
/// each write injects one IP packet into the host's network stack.
/// </summary>
/// <remarks>
/// One reader and one writer may run concurrently. Reads and writes allocate nothing per packet: the caller
/// supplies (pooled) buffers. Disposing closes the device; the kernel then removes the interface together with
/// its addresses and the routes that point at it.
/// </remarks>
public interface ITunDevice : IAsyncDisposable
{
    /// <summary>The interface name the kernel assigned (for example <c>steer0</c>).</summary>
    string Name { get; }

    /// <summary>The kernel's interface index, used for addresses and routes.</summary>
    int InterfaceIndex { get; }

    /// <summary>The MTU the device was created with, in bytes.</summary>
    int Mtu { get; }

    /// <summary>
    /// True when the kernel hands this device TCP super-packets and partial checksums (Linux offloads, see
    /// <see cref="TunDeviceOptions.Offload"/>), which the device segments and completes itself: reads still return one
    /// IP packet each. False on macOS and Windows, and on Linux when offloads were not asked for or were refused.
    /// </summary>
    bool OffloadEnabled { get; }

    /// <summary>Reads one IP packet into <paramref name="buffer"/>.</summary>
    /// <param name="buffer">Destination; should be at least <see cref="Mtu"/> bytes long.</param>
    /// <param name="cancellationToken">Cancels the wait for a packet.</param>
    /// <returns>The packet's length in bytes.</returns>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>Writes one IP packet to the host's network stack.</summary>
    /// <param name="packet">A complete IPv4 or IPv6 packet.</param>
    /// <param name="cancellationToken">Cancels a write that has to wait.</param>
    ValueTask WriteAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default);
}
