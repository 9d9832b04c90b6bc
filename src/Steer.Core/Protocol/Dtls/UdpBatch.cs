using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using static Steer.Protocol.Dtls.UdpBatchInterop;

namespace Steer.Protocol.Dtls;

/// <summary>How the DTLS sockets move datagrams: batched system calls or one call per datagram.</summary>
internal sealed record UdpBatchOptions
{
    /// <summary>Batching on (Linux), the defaults below.</summary>
    public static UdpBatchOptions Default { get; } = new();

    /// <summary>Plain <c>Socket</c> calls, one datagram each (what non-Linux systems always get).</summary>
    public static UdpBatchOptions Disabled { get; } = new() { Enabled = false };

    /// <summary>
    /// Use <c>recvmmsg</c>/<c>sendmmsg</c> where the OS has them. False forces the fallback (one
    /// <c>Socket.Receive</c>/<c>Send</c> per datagram), which is also taken when the calls fail with ENOSYS/EOPNOTSUPP.
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Datagrams per batch.</summary>
    public int Count { get; init; } = 32;

    /// <summary>Bytes per datagram slot; larger datagrams are truncated by the kernel and dropped.</summary>
    public int SlotSize { get; init; } = 2048;

    /// <summary>
    /// UDP segmentation offload on send (Linux, batched only): consecutive datagrams of a batch to the same destination
    /// and of the same size (the last may be shorter) leave as one message with a <c>UDP_SEGMENT</c> control message,
    /// which the kernel (or the NIC) cuts back into datagrams. Probed per socket; a kernel or device that refuses it
    /// turns it off for that batch, and what it refused is sent again one message per datagram. The environment
    /// variable <c>STEER_UDP_GSO=0</c> turns the default off: local netfilter rules and tc filters see a super-datagram
    /// before it is cut, so a rule on the UDP length (like the lab's emulated small-MTU path) would drop all of it.
    /// </summary>
    public bool Gso { get; init; } = Environment.GetEnvironmentVariable(GsoVariable) != "0";

    /// <summary>The environment variable that turns <see cref="Gso"/> off by default when it is <c>0</c>.</summary>
    public const string GsoVariable = "STEER_UDP_GSO";

    /// <summary>
    /// UDP receive coalescing (Linux, batched only): <c>UDP_GRO</c> on the socket, so the kernel may hand several
    /// datagrams of one flow back as one message of up to 64 KiB; the batch splits them again. The receive slots are
    /// then <see cref="GroSlots"/> × 64 KiB instead of <see cref="Count"/> × <see cref="SlotSize"/>.
    /// </summary>
    public bool Gro { get; init; } = true;

    /// <summary>Messages per <c>recvmmsg</c> with <see cref="Gro"/> (64 KiB each, allocated on the first receive).</summary>
    public int GroSlots { get; init; } = 8;

    /// <summary>Where a batch says (once) that the kernel refused segmentation offload; null: not logged.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>
/// A batch of datagram slots for one socket and one thread, allocated once (pinned, so the kernel writes straight into
/// it): <see cref="Receive"/> takes up to <see cref="Capacity"/> datagrams with one <c>recvmmsg</c>, and
/// <see cref="TryAdd"/> + <see cref="Flush"/> send everything added with one <c>sendmmsg</c>. Where batching is not
/// available (not Linux, disabled, or the kernel answers ENOSYS/EOPNOTSUPP) the same methods fall back to one
/// <c>Socket</c> call per datagram. Nothing is allocated per datagram in either mode.
/// </summary>
/// <remarks>
/// With <see cref="UdpBatchOptions.Gso"/>, runs of equal-sized datagrams to one destination go out as one message each
/// (a "super-datagram": its iovecs are the slots, a <c>UDP_SEGMENT</c> control message gives the size), so the stack
/// is walked once per run instead of once per datagram. With <see cref="UdpBatchOptions.Gro"/>, the first
/// <see cref="Receive"/> turns <c>UDP_GRO</c> on and receives into a few 64 KiB slots; a message that carries a
/// <c>UDP_GRO</c> control message is split at its segment size, so <see cref="Count"/> / <see cref="Datagram"/> /
/// <see cref="Source"/> index datagrams either way.
/// </remarks>
internal sealed unsafe partial class UdpBatch
{
    /// <summary>Bytes reserved per source/destination address (a <c>sockaddr_in6</c> is 28).</summary>
    private const int NameSize = 32;

    /// <summary>Datagrams per super-datagram at most (the kernel's <c>UDP_MAX_SEGMENTS</c> was 64 before Linux 6.11).</summary>
    private const int MaxSegments = 64;

    /// <summary>Bytes per super-datagram at most: under the 65,535-byte IP datagram with room for its headers.</summary>
    private const int MaxSuperDatagram = 65_000;

    /// <summary>Bytes per receive slot with GRO: the largest UDP message the kernel can hand back.</summary>
    private const int GroSlotSize = 65_535;

    /// <summary>Control buffer per received message: a <c>UDP_GRO</c> message and room for one more.</summary>
    private const int ReceiveControlSize = 64;

    private static volatile bool s_unavailable;
    private static int s_gsoRefusalLogged;

    private readonly Socket _socket;
    private readonly int _slotSize;
    private readonly ILogger? _logger;
    private readonly byte[] _data;
    private readonly byte[] _names;
    private readonly int[] _nameLengths;
    private readonly MMsgHdr[] _headers;
    private readonly IoVec[] _vectors;
    private readonly int[] _lengths;
    private readonly int[] _messageFirst;
    private readonly int[] _messageSlots;
    private readonly byte[] _sendControl;
    private readonly int _sendControlSize;
    private readonly SocketAddress[]? _sources;
    private readonly int _groSlots;

    // Receive side: the message layout of the last receive (the datagram slots, or the GRO slots) and how its messages
    // split into datagrams.
    private readonly int[] _received;       // bytes per message
    private readonly int[] _segment;        // datagram size per message (the message length when not coalesced)
    private readonly int[] _datagramsUpTo;  // datagrams in messages 0..m
    private byte[] _receiveData;
    private int _receiveStride;
    private int _cursor;

    // GRO: allocated on the first batched receive, when the kernel accepts UDP_GRO.
    private bool _groWanted;
    private byte[]? _groData;
    private byte[]? _groNames;
    private byte[]? _groControl;
    private MMsgHdr[]? _groHeaders;
    private IoVec[]? _groVectors;

    private SocketAddress? _scratchAddress;
    private bool _batched;
    private bool _gso;
    private int _count;
    private long _syscalls;
    private long _datagrams;
    private long _dropped;
    private long _gsoMessages;
    private long _gsoSegments;
    private long _groMessages;
    private long _groSegments;

    /// <param name="socket">The UDP socket; connected, or unconnected with <paramref name="withAddresses"/>.</param>
    /// <param name="options">Batching options.</param>
    /// <param name="withAddresses">Keep a source address per received datagram (unconnected sockets).</param>
    public UdpBatch(Socket socket, UdpBatchOptions options, bool withAddresses)
    {
        _socket = socket;
        _slotSize = options.SlotSize;
        _logger = options.Logger;
        Capacity = options.Count;
        _batched = options.Enabled && IsSupported;
        _gso = _batched && options.Gso && ProbeGso(socket);
        _groWanted = _batched && options.Gro;
        _groSlots = Math.Max(1, options.GroSlots);
        _data = GC.AllocateUninitializedArray<byte>((Capacity * _slotSize) + 1, pinned: true); // +1: see the fallback receive
        _names = GC.AllocateArray<byte>(Capacity * NameSize, pinned: true);
        _nameLengths = new int[Capacity];
        _headers = GC.AllocateArray<MMsgHdr>(Capacity, pinned: true);
        _vectors = GC.AllocateArray<IoVec>(Capacity, pinned: true);
        _lengths = new int[Capacity];
        _messageFirst = new int[Capacity];
        _messageSlots = new int[Capacity];
        int messages = Math.Max(Capacity, _groSlots);
        _received = new int[messages];
        _segment = new int[messages];
        _datagramsUpTo = new int[messages];
        _receiveData = _data;
        _receiveStride = _slotSize;
        if (withAddresses)
        {
            _sources = new SocketAddress[messages];
            for (int i = 0; i < messages; i++)
            {
                _sources[i] = new SocketAddress(socket.AddressFamily);
            }
        }

        // The arrays live on the pinned object heap: their addresses never change.
        byte* data = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_data));
        for (int i = 0; i < Capacity; i++)
        {
            _vectors[i].Base = (nint)(data + (i * _slotSize));
            _vectors[i].Length = (nuint)_slotSize;
        }

        // One UDP_SEGMENT control message per possible send message, headers written once; a flush only writes the
        // segment size.
        _sendControlSize = CMsgSpace(sizeof(ushort));
        _sendControl = GC.AllocateArray<byte>(Capacity * _sendControlSize, pinned: true);
        for (int i = 0; i < Capacity; i++)
        {
            ref CMsgHdr header = ref Unsafe.As<byte, CMsgHdr>(ref _sendControl[i * _sendControlSize]);
            header.Length = (nuint)CMsgLength(sizeof(ushort));
            header.Level = SolUdp;
            header.Type = UdpSegment;
        }
    }

    /// <summary>True where <c>recvmmsg</c>/<c>sendmmsg</c> can be tried (Linux, not yet refused by the kernel).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && !s_unavailable;

    /// <summary>True while this batch uses <c>recvmmsg</c>/<c>sendmmsg</c>; false in the fallback mode.</summary>
    public bool IsBatched => _batched;

    /// <summary>True while sends of equal-sized runs go out as super-datagrams (<c>UDP_SEGMENT</c>).</summary>
    public bool IsGso => _gso;

    /// <summary>True once receives use <c>UDP_GRO</c> (set by the first batched <see cref="Receive"/>).</summary>
    public bool IsGro => _groData is not null;

    /// <summary>Datagrams per batch.</summary>
    public int Capacity { get; }

    /// <summary>Messages one <c>recvmmsg</c> takes: <see cref="Capacity"/>, or the GRO slots once GRO is on.</summary>
    public int ReceiveMessages => _groData is null ? Capacity : _groSlots;

    /// <summary>Bytes per datagram slot: the largest datagram sent or received.</summary>
    public int SlotSize => _slotSize;

    /// <summary>Datagrams received into the batch (after <see cref="Receive"/>) or added to it (before <see cref="Flush"/>).</summary>
    public int Count => _count;

    /// <summary>System calls that moved datagrams (one per batch when batched, one per datagram otherwise).</summary>
    public long Syscalls => Volatile.Read(ref _syscalls);

    /// <summary>Datagrams moved (a super-datagram or a coalesced message counts as its datagrams).</summary>
    public long Datagrams => Volatile.Read(ref _datagrams);

    /// <summary>Datagrams dropped: truncated or larger than a slot on receive, refused by the OS on send.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Super-datagrams (<c>UDP_SEGMENT</c> messages of two or more datagrams) the kernel accepted.</summary>
    public long GsoMessages => Volatile.Read(ref _gsoMessages);

    /// <summary>Datagrams sent inside super-datagrams.</summary>
    public long GsoSegments => Volatile.Read(ref _gsoSegments);

    /// <summary>Received messages that the kernel had coalesced from two or more datagrams (<c>UDP_GRO</c>).</summary>
    public long GroMessages => Volatile.Read(ref _groMessages);

    /// <summary>Datagrams split out of coalesced messages.</summary>
    public long GroSegments => Volatile.Read(ref _groSegments);

    /// <summary>Datagram <paramref name="index"/> of the last <see cref="Receive"/>; empty when it was dropped (truncated).</summary>
    public ReadOnlySpan<byte> Datagram(int index)
    {
        int m = MessageOf(index);
        int first = m == 0 ? 0 : _datagramsUpTo[m - 1];
        int offset = (index - first) * _segment[m];
        int length = Math.Min(_segment[m], _received[m] - offset);
        return _receiveData.AsSpan((m * _receiveStride) + offset, length);
    }

    /// <summary>Sender of datagram <paramref name="index"/> (only with addresses); overwritten by the next receive.</summary>
    public SocketAddress Source(int index) => _sources![MessageOf(index)];

    /// <summary>
    /// Waits up to <paramref name="waitMillis"/> (≤ 0: forever) for a datagram, then takes every datagram already
    /// queued, up to <see cref="Capacity"/> (with GRO: up to <see cref="UdpBatchOptions.GroSlots"/> messages, each of
    /// one or more datagrams), without waiting again. Returns how many datagrams (0: timed out).
    /// </summary>
    /// <exception cref="SocketException">The socket reported an error (e.g. ICMP port unreachable on a connected socket).</exception>
    /// <exception cref="ObjectDisposedException">The socket was closed.</exception>
    public int Receive(int waitMillis)
    {
        _count = 0;
        _cursor = 0;
        if (_groWanted)
        {
            _groWanted = false;
            EnableGro();
        }

        if (!_socket.Poll(waitMillis <= 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(waitMillis), SelectMode.SelectRead))
        {
            return 0;
        }

        if (_batched)
        {
            int slots = PrepareReceive(out MMsgHdr[] headers);
            int received;
            fixed (MMsgHdr* first = headers)
            {
                received = RecvMMsg(_socket.SafeHandle, first, (uint)slots, MsgDontWait, 0);
            }

            if (received >= 0)
            {
                Interlocked.Increment(ref _syscalls);
                _count = Split(headers, received);
                return _count;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno is EAGAIN or EINTR)
            {
                return 0;
            }

            if (!Unavailable(errno))
            {
                throw new SocketException((int)ToSocketError(errno));
            }
        }

        // Fallback: one datagram per call, into the first slot plus one byte, so that a datagram larger than a slot
        // shows (Socket.Receive truncates silently on Linux).
        _receiveData = _data;
        _receiveStride = _slotSize;
        Span<byte> slot = _data.AsSpan(0, _slotSize + 1);
        int length;
        try
        {
            length = _sources is null ? _socket.Receive(slot, SocketFlags.None) : _socket.ReceiveFrom(slot, SocketFlags.None, _sources[0]);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.MessageSize)
        {
            length = int.MaxValue;
        }

        Interlocked.Increment(ref _syscalls);
        if (length > _slotSize)
        {
            Interlocked.Increment(ref _dropped);
            return 0;
        }

        Interlocked.Increment(ref _datagrams);
        _received[0] = length;
        _segment[0] = length;
        _datagramsUpTo[0] = 1;
        _count = 1;
        return 1;
    }

    /// <summary>
    /// Copies a datagram into the next free slot, to be sent by <see cref="Flush"/> (to <paramref name="destination"/>,
    /// or to the connected peer when null). False when the batch is full or the datagram does not fit a slot.
    /// </summary>
    public bool TryAdd(ReadOnlySpan<byte> datagram, SocketAddress? destination)
    {
        if (_count == Capacity || datagram.Length > _slotSize)
        {
            return false;
        }

        int i = _count++;
        datagram.CopyTo(_data.AsSpan(i * _slotSize));
        _lengths[i] = datagram.Length;
        if (destination is null)
        {
            _nameLengths[i] = 0;
        }
        else
        {
            destination.Buffer.Span[..destination.Size].CopyTo(_names.AsSpan(i * NameSize, NameSize));
            _nameLengths[i] = destination.Size;
        }

        return true;
    }

    /// <summary>
    /// Sends every datagram added since the last flush: one <c>sendmmsg</c> for all of them (more only when the kernel
    /// takes fewer), or one <c>Socket.Send</c> each in the fallback mode. With GSO, each run of equal-sized datagrams
    /// to one destination is one message of that call. UDP is best effort: a datagram the OS refuses (a firewall's
    /// EPERM, a full buffer, EMSGSIZE, an earlier ICMP error) is dropped and counted, never thrown; a super-datagram
    /// the kernel refuses as such (EIO, EINVAL, ENOPROTOOPT, EOPNOTSUPP) is sent again one datagram per message.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The socket was closed.</exception>
    public void Flush()
    {
        int count = _count;
        _count = 0;
        int plainFrom = 0;
        if (_batched && count > 0)
        {
            int messages = BuildMessages(0, count);
            int start = 0;
            int retries = 0;
            while (start < messages)
            {
                int sent;
                fixed (MMsgHdr* headers = _headers)
                {
                    sent = SendMMsg(_socket.SafeHandle, headers + start, (uint)(messages - start), 0);
                }

                Interlocked.Increment(ref _syscalls);
                if (sent > 0)
                {
                    for (int m = start; m < start + sent; m++)
                    {
                        CountSent(_messageSlots[m]);
                    }

                    start += sent;
                    retries = 0;
                    continue;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (_messageSlots[start] > 1 && errno is EIO or EINVAL or ENOPROTOOPT or EOPNOTSUPP)
                {
                    // The kernel refused the super-datagram itself (EIO: the egress device cannot checksum it). Send
                    // this run and the rest of the batch again, one datagram per message unless the refusal turns
                    // out not to be GSO's fault.
                    int next = _messageFirst[start];
                    if (!GsoStaysOn(errno, ref next))
                    {
                        _gso = false;
                    }

                    messages = BuildMessages(next, count);
                    start = 0;
                    retries = 0;
                    continue;
                }

                if (Unavailable(errno))
                {
                    plainFrom = _messageFirst[start];
                    break; // The rest goes out one by one below.
                }

                if (errno == EINTR && retries++ < 3)
                {
                    continue;
                }

                if (errno == EAGAIN && retries++ < 3)
                {
                    _socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectWrite);
                    continue;
                }

                // This message was refused; the ones behind it still go.
                Interlocked.Add(ref _dropped, _messageSlots[start]);
                start++;
                retries = 0;
            }

            if (_batched)
            {
                return;
            }
        }

        for (int i = plainFrom; i < count; i++)
        {
            SendOne(_data.AsSpan(i * _slotSize, _lengths[i]), _nameLengths[i] == 0 ? null : i);
        }
    }

    /// <summary>
    /// Sends one datagram at once, bypassing the batch (for sends from other threads). Best effort, as UDP is: an
    /// error (a firewall's EPERM, a full buffer, an earlier ICMP error) drops the datagram and is counted.
    /// </summary>
    public void SendNow(ReadOnlySpan<byte> datagram, SocketAddress? destination)
    {
        try
        {
            if (destination is null)
            {
                _socket.Send(datagram, SocketFlags.None);
            }
            else
            {
                _socket.SendTo(datagram, SocketFlags.None, destination);
            }

            Interlocked.Increment(ref _datagrams);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _dropped);
        }

        Interlocked.Increment(ref _syscalls);
    }

    /// <summary>
    /// Whether the kernel knows <c>UDP_SEGMENT</c> on this socket: reading the option changes nothing (setting it
    /// would segment every send of the socket, also the plain ones).
    /// </summary>
    private static bool ProbeGso(Socket socket)
    {
        Span<byte> value = stackalloc byte[sizeof(int)];
        try
        {
            return socket.GetRawSocketOption(SolUdp, UdpSegment, value) >= sizeof(ushort);
        }
        catch (SocketException)
        {
            return false; // ENOPROTOOPT: a kernel before 4.18, or not a UDP socket.
        }
    }

    /// <summary>
    /// Turns <c>UDP_GRO</c> on and allocates its slots; a kernel that refuses it (before 5.0) leaves the datagram slots.
    /// </summary>
    private void EnableGro()
    {
        Span<byte> on = stackalloc byte[sizeof(int)];
        MemoryMarshal.Write(on, 1); // an int in host byte order

        try
        {
            _socket.SetRawSocketOption(SolUdp, UdpGro, on);
        }
        catch (SocketException)
        {
            return;
        }

        _groData = GC.AllocateUninitializedArray<byte>(_groSlots * GroSlotSize, pinned: true);
        _groNames = GC.AllocateArray<byte>(_groSlots * NameSize, pinned: true);
        _groControl = GC.AllocateArray<byte>(_groSlots * ReceiveControlSize, pinned: true);
        _groHeaders = GC.AllocateArray<MMsgHdr>(_groSlots, pinned: true);
        _groVectors = GC.AllocateArray<IoVec>(_groSlots, pinned: true);
        byte* data = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_groData));
        for (int i = 0; i < _groSlots; i++)
        {
            _groVectors[i].Base = (nint)(data + (i * GroSlotSize));
            _groVectors[i].Length = GroSlotSize;
        }
    }

    /// <summary>Sets up the receive messages (all fields: a send on this batch may have used the same headers).</summary>
    private int PrepareReceive(out MMsgHdr[] headers)
    {
        int slots;
        byte* names;
        IoVec* vectors;
        byte* control;
        if (_groData is not null)
        {
            headers = _groHeaders!;
            slots = _groSlots;
            _receiveData = _groData;
            _receiveStride = GroSlotSize;
            names = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_groNames!));
            vectors = (IoVec*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_groVectors!));
            control = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_groControl!));
        }
        else
        {
            headers = _headers;
            slots = Capacity;
            _receiveData = _data;
            _receiveStride = _slotSize;
            names = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_names));
            vectors = (IoVec*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_vectors));
            control = null;
            for (int i = 0; i < slots; i++)
            {
                _vectors[i].Length = (nuint)_slotSize;
            }
        }

        for (int i = 0; i < slots; i++)
        {
            ref MsgHdr header = ref headers[i].Header;
            header.Flags = 0;
            header.Iov = (nint)(vectors + i);
            header.IovLength = 1;
            header.Control = control is null ? 0 : (nint)(control + (i * ReceiveControlSize));
            header.ControlLength = control is null ? 0 : (nuint)ReceiveControlSize;
            header.Name = _sources is null ? 0 : (nint)(names + (i * NameSize));
            header.NameLength = _sources is null ? 0 : (uint)NameSize;
        }

        return slots;
    }

    /// <summary>Records the received messages, their sources and how they split into datagrams; returns the datagrams.</summary>
    private int Split(MMsgHdr[] headers, int received)
    {
        byte[] names = _groData is null ? _names : _groNames!;
        int datagrams = 0;
        for (int m = 0; m < received; m++)
        {
            ref MMsgHdr message = ref headers[m];
            int length = (int)message.Length;
            int segment = length;
            bool dropped = false;
            if ((message.Header.Flags & MsgTrunc) != 0)
            {
                length = segment = 0;
                dropped = true;
                Interlocked.Increment(ref _dropped);
            }
            else if (message.Header.ControlLength > 0 && GroSegmentSize(ref message.Header) is int gso and > 0 && gso < length)
            {
                segment = gso;
            }

            int count = length == 0 ? 1 : (length + segment - 1) / segment;
            if (segment > _slotSize)
            {
                // Larger than a datagram slot: dropped, as a truncated datagram is without GRO.
                Interlocked.Add(ref _dropped, count);
                length = segment = 0;
                count = 1;
                dropped = true;
            }
            else if (count > 1)
            {
                Interlocked.Increment(ref _groMessages);
                Interlocked.Add(ref _groSegments, count);
            }

            if (!dropped)
            {
                Interlocked.Add(ref _datagrams, count);
            }

            _received[m] = length;
            _segment[m] = segment;
            datagrams += count;
            _datagramsUpTo[m] = datagrams;
            if (_sources is not null)
            {
                SocketAddress source = _sources[m];
                int size = Math.Min((int)message.Header.NameLength, source.Buffer.Length);
                names.AsSpan(m * NameSize, size).CopyTo(source.Buffer.Span);
                source.Size = size;
            }
        }

        return datagrams;
    }

    /// <summary>The <c>UDP_GRO</c> segment size among a received message's control messages; 0 when there is none.</summary>
    private static int GroSegmentSize(ref MsgHdr header)
    {
        byte* control = (byte*)header.Control;
        int length = (int)header.ControlLength;
        int offset = 0;
        while (offset + CMsgHeaderSize <= length)
        {
            CMsgHdr* cmsg = (CMsgHdr*)(control + offset);
            int size = (int)cmsg->Length;
            if (size < CMsgHeaderSize || offset + size > length)
            {
                break;
            }

            if (cmsg->Level == SolUdp && cmsg->Type == UdpGro && size >= CMsgLength(sizeof(int)))
            {
                return *(int*)(control + offset + CMsgHeaderSize);
            }

            offset += CMsgAlign(size);
        }

        return 0;
    }

    /// <summary>The received message that datagram <paramref name="index"/> came in (a cursor makes a forward walk O(1)).</summary>
    private int MessageOf(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        int m = _cursor;
        if (m > 0 && index < _datagramsUpTo[m - 1])
        {
            m = 0;
        }

        while (index >= _datagramsUpTo[m])
        {
            m++;
        }

        _cursor = m;
        return m;
    }

    /// <summary>
    /// Builds the send messages for slots <paramref name="firstSlot"/>..<paramref name="count"/>: one per datagram, or
    /// with GSO one per run of datagrams to one destination whose sizes equal the first's (the last may be shorter).
    /// Returns the number of messages.
    /// </summary>
    private int BuildMessages(int firstSlot, int count)
    {
        IoVec* vectors = (IoVec*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_vectors));
        byte* names = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_names));
        byte* control = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_sendControl));
        int messages = 0;
        int i = firstSlot;
        while (i < count)
        {
            int first = i;
            int size = _lengths[first];
            int slots = 1;
            if (_gso && size > 0)
            {
                int total = size;
                while (first + slots < count && slots < MaxSegments)
                {
                    int next = _lengths[first + slots];
                    if (next == 0 || next > size || total + next > MaxSuperDatagram || !SameDestination(first, first + slots))
                    {
                        break;
                    }

                    slots++;
                    total += next;
                    if (next < size)
                    {
                        break; // A shorter datagram ends the run.
                    }
                }
            }

            for (int k = first; k < first + slots; k++)
            {
                _vectors[k].Length = (nuint)_lengths[k];
            }

            ref MsgHdr header = ref _headers[messages].Header;
            header.Flags = 0;
            header.Iov = (nint)(vectors + first);
            header.IovLength = (nuint)slots;
            header.Name = _nameLengths[first] == 0 ? 0 : (nint)(names + (first * NameSize));
            header.NameLength = (uint)_nameLengths[first];
            if (slots > 1)
            {
                byte* cmsg = control + (messages * _sendControlSize);
                *(ushort*)(cmsg + CMsgHeaderSize) = (ushort)size;
                header.Control = (nint)cmsg;
                header.ControlLength = (nuint)_sendControlSize;
            }
            else
            {
                header.Control = 0;
                header.ControlLength = 0;
            }

            _messageFirst[messages] = first;
            _messageSlots[messages] = slots;
            messages++;
            i += slots;
        }

        return messages;
    }

    private bool SameDestination(int a, int b) =>
        _nameLengths[a] == _nameLengths[b]
        && _names.AsSpan(a * NameSize, _nameLengths[a]).SequenceEqual(_names.AsSpan(b * NameSize, _nameLengths[b]));

    private void CountSent(int slots)
    {
        Interlocked.Add(ref _datagrams, slots);
        if (slots > 1)
        {
            Interlocked.Increment(ref _gsoMessages);
            Interlocked.Add(ref _gsoSegments, slots);
        }
    }

    /// <summary>
    /// After a refused super-datagram that starts at slot <paramref name="next"/>: EINVAL is also what a run of
    /// datagrams too big for the path gets, so the run's first datagram is sent alone first (and
    /// <paramref name="next"/> moves past it); refused as too big (EMSGSIZE), it is dropped as a plain send would drop
    /// it and GSO stays on. Anything else turns GSO off for this batch, logged once per process. Returns whether GSO
    /// is to stay on.
    /// </summary>
    private bool GsoStaysOn(int errno, ref int next)
    {
        if (errno == EINVAL)
        {
            int first = next++;
            SocketAddress? destination = null;
            if (_nameLengths[first] != 0)
            {
                destination = _scratchAddress ??= new SocketAddress(_socket.AddressFamily);
                _names.AsSpan(first * NameSize, _nameLengths[first]).CopyTo(destination.Buffer.Span);
                destination.Size = _nameLengths[first];
            }

            ReadOnlySpan<byte> datagram = _data.AsSpan(first * _slotSize, _lengths[first]);
            bool tooBig = false;
            try
            {
                _ = destination is null ? _socket.Send(datagram, SocketFlags.None) : _socket.SendTo(datagram, SocketFlags.None, destination);
                Interlocked.Increment(ref _datagrams);
            }
            catch (SocketException ex)
            {
                tooBig = ex.SocketErrorCode == SocketError.MessageSize;
                Interlocked.Increment(ref _dropped);
            }

            Interlocked.Increment(ref _syscalls);
            if (tooBig)
            {
                return true;
            }
        }

        if (_logger is not null && Interlocked.Exchange(ref s_gsoRefusalLogged, 1) == 0)
        {
            LogGsoRefused(_logger, errno);
        }

        return false;
    }

    private void SendOne(ReadOnlySpan<byte> datagram, int? nameIndex)
    {
        try
        {
            if (nameIndex is not int i)
            {
                _socket.Send(datagram, SocketFlags.None);
            }
            else
            {
                SocketAddress destination = _scratchAddress ??= new SocketAddress(_socket.AddressFamily);
                int size = _nameLengths[i];
                _names.AsSpan(i * NameSize, size).CopyTo(destination.Buffer.Span);
                destination.Size = size;
                _socket.SendTo(datagram, SocketFlags.None, destination);
            }

            Interlocked.Increment(ref _datagrams);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _dropped);
        }

        Interlocked.Increment(ref _syscalls);
    }

    /// <summary>ENOSYS/EOPNOTSUPP: the kernel (or a seccomp filter) has no batched calls; fall back for good.</summary>
    private bool Unavailable(int errno)
    {
        if (errno is not (ENOSYS or EOPNOTSUPP))
        {
            return false;
        }

        s_unavailable = true;
        _batched = false;
        _gso = false;
        if (_groData is not null)
        {
            // The fallback's Socket.Receive cannot see segment sizes: coalesced messages must not come any more.
            Span<byte> off = stackalloc byte[sizeof(int)];
            try
            {
                _socket.SetRawSocketOption(SolUdp, UdpGro, off);
            }
            catch (SocketException)
            {
            }
        }

        return true;
    }

    private static SocketError ToSocketError(int errno) => errno switch
    {
        1 or 13 => SocketError.AccessDenied,         // EPERM, EACCES
        9 => SocketError.OperationAborted,           // EBADF
        90 => SocketError.MessageSize,               // EMSGSIZE
        100 => SocketError.NetworkDown,              // ENETDOWN
        101 => SocketError.NetworkUnreachable,       // ENETUNREACH
        104 => SocketError.ConnectionReset,          // ECONNRESET
        105 => SocketError.NoBufferSpaceAvailable,   // ENOBUFS
        111 => SocketError.ConnectionRefused,        // ECONNREFUSED
        112 => SocketError.HostDown,                 // EHOSTDOWN
        113 => SocketError.HostUnreachable,          // EHOSTUNREACH
        _ => SocketError.SocketError,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "UDP segmentation offload refused by the kernel (errno {Errno}); DTLS datagrams are sent one per message")]
    private static partial void LogGsoRefused(ILogger logger, int errno);
}
