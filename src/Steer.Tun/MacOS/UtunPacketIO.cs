using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Steer.Tun.MacOS;

/// <summary>
/// Packet I/O on a utun descriptor, where every packet carries a 4-byte address-family header (a big-endian u32:
/// AF_INET = 2 or macOS's AF_INET6 = 30) in front of the IP packet. The header lives in headroom: reads land in a
/// frame buffer with 4 bytes in front of the packet and only the packet is copied out; writes place the header in
/// front of a copy of the packet in a second frame buffer. Both buffers are allocated once, so no packet allocates.
/// </summary>
/// <remarks>
/// The descriptor is injected, so the same code runs over a utun control socket on macOS and over any datagram
/// descriptor in tests (a <c>socketpair(AF_UNIX, SOCK_DGRAM)</c> on Linux). It is wrapped in a <see cref="Socket"/> so
/// that waiting goes through the runtime's kqueue/epoll engine. One reader and one writer may run concurrently, as
/// <see cref="ITunDevice"/> allows; a second concurrent reader (or writer) gets an <see cref="InvalidOperationException"/>.
/// </remarks>
internal sealed class UtunPacketIO : IDisposable
{
    /// <summary>Length of the address-family header.</summary>
    internal const int HeaderLength = 4;

    /// <summary>AF_INET, the header of IPv4 packets.</summary>
    internal const uint FamilyIPv4 = 2;

    /// <summary>AF_INET6 on macOS, the header of IPv6 packets.</summary>
    internal const uint FamilyIPv6 = 30;

    private readonly Socket _socket;
    private readonly byte[] _readFrame;
    private readonly byte[] _writeFrame;
    private readonly string _deviceName;
    private int _reading;
    private int _writing;
    private int _disposed;

    /// <summary>Takes ownership of <paramref name="handle"/>.</summary>
    /// <param name="handle">The packet descriptor; disposed with this object when it owns the descriptor.</param>
    /// <param name="deviceName">Interface name, for error messages.</param>
    /// <param name="maxPacketLength">The longest packet read or written; longer reads are truncated.</param>
    internal UtunPacketIO(SafeSocketHandle handle, string deviceName, int maxPacketLength = TunDeviceOptions.MaxMtu)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPacketLength);
        _socket = new Socket(handle);
        _deviceName = deviceName;
        _readFrame = new byte[HeaderLength + maxPacketLength];
        _writeFrame = new byte[HeaderLength + maxPacketLength];
    }

    /// <summary>The longest packet this object reads or writes whole.</summary>
    internal int MaxPacketLength => _writeFrame.Length - HeaderLength;

    /// <summary>Reads one packet, without its header, into <paramref name="buffer"/>.</summary>
    /// <returns>The packet length; a packet longer than <paramref name="buffer"/> is truncated, as a TUN read is.</returns>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _reading, 1) != 0)
        {
            throw new InvalidOperationException($"Another read on TUN device '{_deviceName}' is in progress; one reader at a time.");
        }

        try
        {
            while (true)
            {
                int received;
                try
                {
                    received = await _socket.ReceiveAsync(_readFrame.AsMemory(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    throw Translate(e, "read from");
                }

                if (received == 0)
                {
                    return 0;
                }

                if (received < HeaderLength)
                {
                    continue; // a runt without a whole family header carries no packet
                }

                int length = Math.Min(received - HeaderLength, buffer.Length);
                _readFrame.AsSpan(HeaderLength, length).CopyTo(buffer.Span);
                return length;
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    /// <summary>Writes one IP packet, putting the address-family header chosen from its version nibble in front.</summary>
    /// <exception cref="TunException">The packet is not IPv4 or IPv6, is too long, or the write failed.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask WriteAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        uint family = FamilyOf(packet.Span);
        if (family == 0)
        {
            throw new TunException($"Cannot write to TUN device '{_deviceName}': the packet is not an IPv4 or IPv6 packet.")
            {
                ErrorCode = MacOSErrors.EINVAL,
            };
        }

        if (packet.Length > MaxPacketLength)
        {
            throw new TunException($"Cannot write to TUN device '{_deviceName}': the packet is {packet.Length} bytes long; at most {MaxPacketLength} fit.")
            {
                ErrorCode = MacOSErrors.EMSGSIZE,
            };
        }

        if (Interlocked.Exchange(ref _writing, 1) != 0)
        {
            throw new InvalidOperationException($"Another write on TUN device '{_deviceName}' is in progress; one writer at a time.");
        }

        try
        {
            int frameLength = WriteFrame(_writeFrame, packet.Span, family);
            int sent;
            try
            {
                sent = await _socket.SendAsync(_writeFrame.AsMemory(0, frameLength), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw Translate(e, "write to");
            }

            if (sent != frameLength)
            {
                throw new TunException($"Cannot write to TUN device '{_deviceName}': only {sent} of {frameLength} bytes were taken.")
                {
                    ErrorCode = MacOSErrors.EIO,
                };
            }
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    /// <summary>The header value for a packet: from the IP version nibble, or 0 when it is neither IPv4 nor IPv6.</summary>
    internal static uint FamilyOf(ReadOnlySpan<byte> packet) => packet.IsEmpty
        ? 0
        : (packet[0] >> 4) switch
        {
            4 => FamilyIPv4,
            6 => FamilyIPv6,
            _ => 0,
        };

    /// <summary>Writes the header and then the packet into <paramref name="frame"/>; returns the frame length.</summary>
    internal static int WriteFrame(Span<byte> frame, ReadOnlySpan<byte> packet, uint family)
    {
        BinaryPrimitives.WriteUInt32BigEndian(frame, family);
        packet.CopyTo(frame[HeaderLength..]);
        return HeaderLength + packet.Length;
    }

    /// <summary>Closes the descriptor; pending reads and writes end with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
        }
    }

    private Exception Translate(SocketException e, string direction)
    {
        if (Volatile.Read(ref _disposed) != 0 || e.SocketErrorCode == SocketError.OperationAborted)
        {
            return new ObjectDisposedException(GetType().FullName, e);
        }

        return new TunException($"Cannot {direction} TUN device '{_deviceName}': {e.Message} ({e.SocketErrorCode}).", e)
        {
            ErrorCode = e.NativeErrorCode,
        };
    }
}
