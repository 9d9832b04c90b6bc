using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Steer.Tun.Tests.Dns;

/// <summary>One method call as it arrived on the wire at <see cref="RawDBusPeer"/>.</summary>
internal sealed record RawDBusCall(
    byte Flags,
    string? Path,
    string? Interface,
    string? Member,
    string? Destination,
    string Signature,
    byte[] Body);

/// <summary>What <see cref="RawDBusPeer"/> answers a call with.</summary>
internal sealed record RawDBusReply(string? ErrorName = null, string? ErrorMessage = null, bool? BoolValue = null, bool NoReply = false, uint? UInt32Value = null)
{
    public static RawDBusReply Empty { get; } = new();

    public static RawDBusReply Error(string name, string message) => new(name, message);

    public static RawDBusReply Bool(bool value) => new(BoolValue: value);

    public static RawDBusReply UInt32(uint value) => new(UInt32Value: value);

    public static RawDBusReply None { get; } = new(NoReply: true);
}

/// <summary>
/// A fake D-Bus peer on a Unix socket that speaks just enough of the protocol (the SASL handshake, little-endian
/// messages) to accept a client's connection, answer Hello, and record every other method call byte for byte, so
/// tests see exactly what Tmds.DBus.Protocol put on the wire. It answers each call as <see cref="Respond"/> says.
/// </summary>
internal sealed class RawDBusPeer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<RawDBusCall> _calls = [];
    private readonly List<Socket> _clients = [];
    private readonly string _path;

    public RawDBusPeer(string socketPath)
    {
        _path = socketPath;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen();
        _ = AcceptLoopAsync();
    }

    /// <summary>The D-Bus address of the peer.</summary>
    public string Address => "unix:path=" + _path;

    /// <summary>Chooses the reply to a call (default: an empty method return).</summary>
    public Func<RawDBusCall, RawDBusReply> Respond { get; set; } = _ => RawDBusReply.Empty;

    /// <summary>The calls received so far, Hello excluded, in arrival order.</summary>
    public IReadOnlyList<RawDBusCall> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>The call to <paramref name="member"/>; fails when there is not exactly one.</summary>
    public RawDBusCall Single(string member) => Assert.Single(Calls, c => c.Member == member);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_clients)
        {
            foreach (Socket client in _clients)
            {
                client.Dispose();
            }
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client = await _listener.AcceptAsync(_stop.Token);
                lock (_clients)
                {
                    _clients.Add(client);
                }

                _ = Task.Run(() => ServeAsync(client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task ServeAsync(Socket client)
    {
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: false);
            Assert.Equal(0, (await ReadExactlyAsync(stream, 1))[0]); // the credentials byte
            while (true)
            {
                string line = await ReadLineAsync(stream);
                if (line.StartsWith("AUTH", StringComparison.Ordinal))
                {
                    await stream.WriteAsync("OK 0123456789abcdef0123456789abcdef\r\n"u8.ToArray());
                }
                else if (line == "NEGOTIATE_UNIX_FD")
                {
                    await stream.WriteAsync("ERROR\r\n"u8.ToArray());
                }
                else if (line == "BEGIN")
                {
                    break;
                }
                else
                {
                    await stream.WriteAsync("ERROR\r\n"u8.ToArray());
                }
            }

            uint serial = 1000;
            while (true)
            {
                byte[] fixedPart = await ReadExactlyAsync(stream, 16);
                Assert.Equal((byte)'l', fixedPart[0]);
                int bodyLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(fixedPart.AsSpan(4));
                uint callSerial = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart.AsSpan(8));
                int fieldsLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(fixedPart.AsSpan(12));
                byte[] fields = await ReadExactlyAsync(stream, Align(16 + fieldsLength, 8) - 16);
                byte[] body = await ReadExactlyAsync(stream, bodyLength);
                RawDBusCall call = ParseCall(fixedPart[2], fields.AsSpan(0, fieldsLength), body);
                if (fixedPart[1] != 1)
                {
                    continue; // only method calls are answered
                }

                if (call.Member == "Hello" && call.Interface == "org.freedesktop.DBus")
                {
                    await stream.WriteAsync(Message(2, ++serial, callSerial, null, "s", StringBody(":1.42")));
                    continue;
                }

                lock (_calls)
                {
                    _calls.Add(call);
                }

                RawDBusReply reply = Respond(call);
                if (reply.NoReply)
                {
                    continue;
                }

                byte[] message = reply.ErrorName is { } error
                    ? Message(3, ++serial, callSerial, error, "s", StringBody(reply.ErrorMessage ?? string.Empty))
                    : reply.BoolValue is { } value
                        ? Message(2, ++serial, callSerial, null, "b", [value ? (byte)1 : (byte)0, 0, 0, 0])
                        : reply.UInt32Value is { } number
                            ? Message(2, ++serial, callSerial, null, "u", BitConverter.GetBytes(number))
                            : Message(2, ++serial, callSerial, null, string.Empty, []);
                await stream.WriteAsync(message);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or EndOfStreamException or OperationCanceledException)
        {
        }
    }

    /// <summary>Decodes the header fields array <c>a(yv)</c> of a little-endian message (offsets relative to the message start, which is 16 bytes before it).</summary>
    private static RawDBusCall ParseCall(byte flags, ReadOnlySpan<byte> fields, byte[] body)
    {
        string? path = null, @interface = null, member = null, destination = null, signature = string.Empty;
        int offset = 0;
        while (offset < fields.Length)
        {
            offset = Align(16 + offset, 8) - 16;
            byte code = fields[offset];
            int signatureLength = fields[offset + 1];
            char type = (char)fields[offset + 2];
            offset += 3 + signatureLength; // code, length byte, signature, NUL
            if (type is 'o' or 's')
            {
                offset = Align(16 + offset, 4) - 16;
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(fields[offset..]);
                string value = Encoding.UTF8.GetString(fields.Slice(offset + 4, length));
                offset += 4 + length + 1;
                switch (code)
                {
                    case 1: path = value; break;
                    case 2: @interface = value; break;
                    case 3: member = value; break;
                    case 6: destination = value; break;
                }
            }
            else if (type == 'g')
            {
                int length = fields[offset];
                string value = Encoding.ASCII.GetString(fields.Slice(offset + 1, length));
                offset += 1 + length + 1;
                if (code == 8)
                {
                    signature = value;
                }
            }
            else if (type == 'u')
            {
                offset = Align(16 + offset, 4) - 16 + 4;
            }
            else
            {
                throw new InvalidDataException($"Unexpected header field type '{type}'.");
            }
        }

        return new RawDBusCall(flags, path, @interface, member, destination, signature, body);
    }

    /// <summary>A little-endian method return (type 2) or error (type 3) with REPLY_SERIAL, ERROR_NAME and SIGNATURE fields.</summary>
    private static byte[] Message(byte type, uint serial, uint replySerial, string? errorName, string signature, byte[] body)
    {
        var fields = new List<byte>();
        void Pad(int alignment)
        {
            while ((16 + fields.Count) % alignment != 0)
            {
                fields.Add(0);
            }
        }

        Pad(8);
        fields.AddRange([5, 1, (byte)'u', 0]);
        fields.AddRange(BitConverter.GetBytes(replySerial));
        if (errorName is not null)
        {
            Pad(8);
            fields.AddRange([4, 1, (byte)'s', 0]);
            fields.AddRange(StringBody(errorName));
        }

        if (signature.Length > 0)
        {
            Pad(8);
            fields.AddRange([8, 1, (byte)'g', 0, (byte)signature.Length]);
            fields.AddRange(Encoding.ASCII.GetBytes(signature));
            fields.Add(0);
        }

        int fieldsLength = fields.Count;
        Pad(8);
        var message = new List<byte> { (byte)'l', type, 0, 1 };
        message.AddRange(BitConverter.GetBytes((uint)body.Length));
        message.AddRange(BitConverter.GetBytes(serial));
        message.AddRange(BitConverter.GetBytes((uint)fieldsLength));
        message.AddRange(fields);
        message.AddRange(body);
        return [.. message];
    }

    private static byte[] StringBody(string value)
    {
        byte[] text = Encoding.UTF8.GetBytes(value);
        return [.. BitConverter.GetBytes((uint)text.Length), .. text, 0];
    }

    private static int Align(int offset, int alignment) => (offset + alignment - 1) / alignment * alignment;

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer);
        return buffer;
    }

    private static async Task<string> ReadLineAsync(Stream stream)
    {
        var line = new StringBuilder();
        while (true)
        {
            byte b = (await ReadExactlyAsync(stream, 1))[0];
            if (b == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)b);
        }
    }
}
