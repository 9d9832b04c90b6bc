using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Steer.MicroBench.DnsLatency;

/// <summary>
/// The smallest useful upstream: a UDP DNS server on 127.0.0.1 (random port) on its own thread, answering every A
/// query with one fixed address (TTL 60) and any other type with NOERROR and no answer. Answers are built by hand into
/// a reused buffer and sent with <see cref="SocketAddress"/>-based calls, so the server allocates nothing per query and
/// costs the same on both paths being compared. Runs until disposed, and at most <c>lifetime</c>.
/// </summary>
internal sealed class LoopbackDnsServer : IDisposable
{
    private const int AnswerTtl = 60;
    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly byte[] _address;
    private readonly long _deadline;
    private volatile bool _stopping;
    private long _answered;

    public LoopbackDnsServer(IPAddress answer, TimeSpan lifetime)
    {
        _address = answer.GetAddressBytes();
        if (_address.Length != 4)
        {
            throw new ArgumentException("The answer must be an IPv4 address.", nameof(answer));
        }

        _deadline = Environment.TickCount64 + (long)lifetime.TotalMilliseconds;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 250 };
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _thread = new Thread(Serve) { IsBackground = true, Name = "loopback-dns" };
        _thread.Start();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Queries answered so far.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    public void Dispose()
    {
        _stopping = true;
        _thread.Join(TimeSpan.FromSeconds(2));
        _socket.Dispose();
    }

    /// <summary>
    /// Writes the answer to <paramref name="query"/> into <paramref name="answer"/>: the query's header and question
    /// with QR, RA and the query's RD; for an A question one record (a pointer to the question's name, A, IN, TTL 60,
    /// the address). Returns its length, or 0 when the datagram is not a plain one-question query (ignored).
    /// </summary>
    internal static int WriteAnswer(ReadOnlySpan<byte> query, Span<byte> answer, ReadOnlySpan<byte> address)
    {
        if (query.Length < 12 || (query[2] & 0x80) != 0 || BinaryPrimitives.ReadUInt16BigEndian(query[4..]) != 1)
        {
            return 0;
        }

        int offset = 12;
        for (int labels = 0; ; labels++)
        {
            if (offset >= query.Length || labels > 127)
            {
                return 0;
            }

            int length = query[offset];
            if (length == 0)
            {
                offset++;
                break;
            }

            if (length > 63)
            {
                return 0; // A compression pointer or an extended label type: not in a plain query.
            }

            offset += 1 + length;
        }

        int questionEnd = offset + 4;
        if (questionEnd > query.Length || questionEnd + 16 > answer.Length)
        {
            return 0;
        }

        bool isA = BinaryPrimitives.ReadUInt16BigEndian(query[offset..]) == 1;
        query[..questionEnd].CopyTo(answer);
        answer[2] = (byte)(0x80 | (query[2] & 0x01)); // QR, opcode 0, RD as asked
        answer[3] = 0x80;                               // RA, NOERROR
        BinaryPrimitives.WriteUInt16BigEndian(answer[6..], (ushort)(isA ? 1 : 0)); // ANCOUNT
        BinaryPrimitives.WriteUInt32BigEndian(answer[8..], 0);                     // NSCOUNT, ARCOUNT (an OPT is not echoed)
        if (!isA)
        {
            return questionEnd;
        }

        Span<byte> record = answer[questionEnd..];
        record[0] = 0xC0; // pointer to the question's name at offset 12
        record[1] = 12;
        BinaryPrimitives.WriteUInt16BigEndian(record[2..], 1); // A
        BinaryPrimitives.WriteUInt16BigEndian(record[4..], 1); // IN
        BinaryPrimitives.WriteUInt32BigEndian(record[6..], AnswerTtl);
        BinaryPrimitives.WriteUInt16BigEndian(record[10..], 4);
        address.CopyTo(record[12..]);
        return questionEnd + 16;
    }

    private void Serve()
    {
        byte[] query = new byte[1500];
        byte[] answer = new byte[1500];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stopping && Environment.TickCount64 < _deadline)
        {
            int received;
            try
            {
                received = _socket.ReceiveFrom(query, SocketFlags.None, from);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionReset)
            {
                continue;
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
            {
                return;
            }

            int length = WriteAnswer(query.AsSpan(0, received), answer, _address);
            if (length > 0)
            {
                try
                {
                    _socket.SendTo(answer.AsSpan(0, length), SocketFlags.None, from);
                    Interlocked.Increment(ref _answered);
                }
                catch (SocketException)
                {
                    // The client went away: nothing to do.
                }
            }
        }
    }
}
