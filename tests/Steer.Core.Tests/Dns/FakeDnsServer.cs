using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Steer.DnsStub;

namespace Steer.Core.Tests.Dns;

/// <summary>
/// A tiny authoritative-style DNS server on 127.0.0.1 (UDP and TCP on one random port) answering fixed records; it
/// truncates UDP answers larger than the query allows, and records every query it saw.
/// </summary>
internal sealed class FakeDnsServer : IAsyncDisposable
{
    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;
    private readonly Dictionary<string, List<DnsResourceRecord>> _records = new(StringComparer.OrdinalIgnoreCase);

    public FakeDnsServer()
    {
        for (int attempt = 0; ; attempt++)
        {
            _udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                _tcp.Bind(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)_udp.LocalEndPoint!).Port));
                break;
            }
            catch (SocketException) when (attempt < 8)
            {
                _udp.Dispose();
                _tcp.Dispose();
            }
        }

        _tcp.Listen(16);
        EndPoint = (IPEndPoint)_udp.LocalEndPoint!;
        _udpLoop = Task.Run(ServeUdpAsync);
        _tcpLoop = Task.Run(ServeTcpAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Every query received: transport ("udp"/"tcp") and the parsed message.</summary>
    public ConcurrentQueue<(string Transport, DnsMessage Query)> Queries { get; } = new();

    /// <summary>When set, UDP queries are received but never answered.</summary>
    public bool Silent { get; set; }

    public FakeDnsServer Add(DnsResourceRecord record)
    {
        lock (_records)
        {
            if (!_records.TryGetValue(record.Name, out List<DnsResourceRecord>? list))
            {
                _records[record.Name] = list = [];
            }

            list.Add(record);
        }

        return this;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Dispose();
        await Task.WhenAll(_udpLoop, _tcpLoop).WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private byte[]? Answer(byte[] data, int length, string transport)
    {
        if (!DnsMessage.TryParse(data.AsSpan(0, length), out DnsMessage? query, out _))
        {
            return null;
        }

        Queries.Enqueue((transport, query));
        DnsQuestion question = query.Questions[0];
        var response = new DnsMessage { Id = query.Id, IsResponse = true, RecursionDesired = query.RecursionDesired, RecursionAvailable = true };
        response.Questions.Add(question);
        List<DnsResourceRecord>? records;
        lock (_records)
        {
            _records.TryGetValue(question.Name.TrimEnd('.'), out records);
            records = records is null ? null : [.. records];
        }

        if (records is null)
        {
            response.ResponseCode = DnsResponseCode.NameError;
            response.Authorities.Add(new DnsResourceRecord("test", DnsRecordType.SOA, 1, 900, Soa()));
        }
        else
        {
            // The records of the name, following CNAMEs to other names of the zone.
            var queue = new Queue<DnsResourceRecord>(records);
            while (queue.TryDequeue(out DnsResourceRecord? record))
            {
                if (record.Type == DnsRecordType.CNAME && record.TryGetCanonicalName(out string? target))
                {
                    response.Answers.Add(record);
                    lock (_records)
                    {
                        foreach (DnsResourceRecord next in _records.GetValueOrDefault(target) ?? [])
                        {
                            queue.Enqueue(next);
                        }
                    }
                }
                else if (record.Type == question.Type)
                {
                    response.Answers.Add(record);
                }
            }
        }

        if (query.Edns is not null)
        {
            response.Additionals.Add(DnsResourceRecord.ForEdns(1232));
        }

        byte[] wire = response.ToArray();
        if (transport == "udp" && wire.Length > query.MaxUdpResponseSize)
        {
            response.Answers.Clear();
            response.Authorities.Clear();
            response.IsTruncated = true;
            wire = response.ToArray();
        }

        return wire;
    }

    private static byte[] Soa()
    {
        // ns.test. hostmaster.test. 1 7200 3600 1209600 300
        byte[] names = [2, .. "ns"u8, 4, .. "test"u8, 0, 10, .. "hostmaster"u8, 4, .. "test"u8, 0];
        byte[] numbers = new byte[20];
        uint[] values = [1, 7200, 3600, 1209600, 300];
        for (int i = 0; i < 5; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(numbers.AsSpan(i * 4), values[i]);
        }

        return [.. names, .. numbers];
    }

    private async Task ServeUdpAsync()
    {
        byte[] buffer = new byte[65535];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                SocketReceiveFromResult r = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                byte[]? answer = Answer(buffer, r.ReceivedBytes, "udp");
                if (answer is not null && !Silent)
                {
                    await _udp.SendToAsync(answer, SocketFlags.None, r.RemoteEndPoint, _stop.Token);
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task ServeTcpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _tcp.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (client)
                {
                    byte[]? query = await TcpDns.ReadAsync(client, _stop.Token);
                    byte[]? answer = query is null ? null : Answer(query, query.Length, "tcp");
                    if (answer is not null)
                    {
                        await TcpDns.WriteAsync(client, answer, _stop.Token);
                    }
                }
            });
        }
    }
}

/// <summary>RFC 7766 framing for the tests: a 2-byte length, then the message.</summary>
internal static class TcpDns
{
    public static async Task<byte[]?> ReadAsync(Socket socket, CancellationToken ct)
    {
        byte[] prefix = new byte[2];
        if (!await ReadExactAsync(socket, prefix, ct))
        {
            return null;
        }

        byte[] message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        return await ReadExactAsync(socket, message, ct) ? message : null;
    }

    public static async Task WriteAsync(Socket socket, byte[] message, CancellationToken ct)
    {
        byte[] framed = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed, 2);
        await socket.SendAsync(framed, SocketFlags.None, ct);
    }

    private static async Task<bool> ReadExactAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        while (!buffer.IsEmpty)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct);
            if (n == 0)
            {
                return false;
            }

            buffer = buffer[n..];
        }

        return true;
    }
}
