using System.Globalization;
using System.Net;

namespace Steer.Tun.Linux;

/// <summary>
/// Reads the remote addresses of the calling network namespace's connected sockets from <c>/proc/net/tcp</c>,
/// <c>tcp6</c>, <c>udp</c> and <c>udp6</c>. The text format is the kernel's ABI (net/ipv4/tcp_ipv4.c
/// <c>get_tcp4_sock</c>, net/ipv6/tcp_ipv6.c <c>get_tcp6_sock</c>): each address is printed as 32-bit words in host
/// byte order with <c>%08X</c>. Parsed by hand: no library reads these files, and the alternative (sock_diag over
/// netlink) costs more code for a scan that runs every few seconds.
/// </summary>
internal static class ProcNetSockets
{
    private static readonly string[] Files = ["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"];

    /// <summary>Adds the remote address of every connected socket (TCP not listening, closed or in TIME_WAIT; UDP connected).</summary>
    public static void CollectRemoteAddresses(ISet<IPAddress> into)
    {
        foreach (string file in Files)
        {
            try
            {
                foreach (string line in File.ReadLines(file))
                {
                    if (TryParseRemote(line, out IPAddress? remote))
                    {
                        into.Add(remote);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // No IPv6 in this kernel (no tcp6 file), or /proc not mounted: nothing to add from it.
            }
        }
    }

    /// <summary>
    /// Parses one line of a <c>/proc/net/{tcp,udp}[6]</c> table: the remote address when the socket has a peer
    /// (state neither LISTEN nor CLOSE, remote address not all zeros); false for the header line and anything else.
    /// </summary>
    public static bool TryParseRemote(ReadOnlySpan<char> line, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? remote)
    {
        remote = null;

        // "  sl  local_address:port rem_address:port st ..."
        Span<Range> fields = stackalloc Range[5];
        line = line.Trim();
        int count = line.Split(fields, ' ', StringSplitOptions.RemoveEmptyEntries);
        if (count < 4 || !line[fields[0]].EndsWith(':'))
        {
            return false;
        }

        ReadOnlySpan<char> state = line[fields[3]];
        if (state.Length != 2 || state is "0A" or "07" or "06")
        {
            return false; // LISTEN, CLOSE (an unconnected UDP socket reads as CLOSE too), TIME_WAIT (the flow is over)
        }

        ReadOnlySpan<char> endpoint = line[fields[2]];
        int colon = endpoint.IndexOf(':');
        if (colon is not (8 or 32))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        int length = colon / 2;
        for (int word = 0; word < length / 4; word++)
        {
            if (!uint.TryParse(endpoint.Slice(word * 8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint value))
            {
                return false;
            }

            // %08X of a word in host byte order: its bytes in memory are the address bytes.
            if (BitConverter.IsLittleEndian)
            {
                value = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value);
            }

            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes[(word * 4)..], value);
        }

        bytes = bytes[..length];
        if (!bytes.ContainsAnyExcept((byte)0))
        {
            return false;
        }

        remote = new IPAddress(bytes);
        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }

        return true;
    }
}
