using System.Net;
using Steer.Protocol;
using Steer.Tun;

namespace Steer.Gateway;

/// <summary>
/// Hands out inner addresses: lease <c>n</c> gets host <c>n</c> of both the IPv4 and the IPv6 pool; host 1 is the
/// gateway's own. A client asking for its previous address gets it back when it is free or still held by the same
/// device (a reconnect that beat the dead-peer timeout).
/// </summary>
internal sealed class AddressPool
{
    private readonly uint _v4Base;
    private readonly UInt128 _v6Base;
    private readonly int _v4Prefix;
    private readonly int _v6Prefix;
    private readonly bool _hasV6;
    private readonly int _capacity;
    private readonly Dictionary<int, string> _leases = [];
    private readonly Lock _lock = new();

    public AddressPool(IPNetwork ipv4, IPNetwork? ipv6, int maxSessions)
    {
        _v4Base = IpPacket.ToUInt32(ipv4.BaseAddress);
        _v4Prefix = ipv4.PrefixLength;
        _hasV6 = ipv6 is not null;
        if (ipv6 is { } v6)
        {
            _v6Base = IpPacket.ToUInt128(v6.BaseAddress);
            _v6Prefix = v6.PrefixLength;
        }

        long v4Hosts = (1L << (32 - _v4Prefix)) - 2; // minus network and broadcast
        _capacity = (int)Math.Min(Math.Min(v4Hosts - 1, maxSessions), int.MaxValue); // minus the gateway
    }

    public InterfaceAddress GatewayIPv4 => new(V4(1), _v4Prefix);

    public InterfaceAddress? GatewayIPv6 => _hasV6 ? new InterfaceAddress(V6(1), _v6Prefix) : null;

    public int InUse
    {
        get
        {
            lock (_lock)
            {
                return _leases.Count;
            }
        }
    }

    /// <summary>Leases an address pair; returns false when the pool is full.</summary>
    public bool TryLease(string deviceId, string? requestedIPv4, out Lease lease)
    {
        lock (_lock)
        {
            int host = 0;
            if (requestedIPv4 is not null && IPAddress.TryParse(requestedIPv4, out IPAddress? wanted)
                && wanted.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            {
                long candidate = (long)IpPacket.ToUInt32(wanted) - _v4Base;
                if (candidate >= 2 && candidate <= _capacity + 1
                    && (!_leases.TryGetValue((int)candidate, out string? holder) || holder == deviceId))
                {
                    host = (int)candidate;
                }
            }

            for (int n = 2; host == 0 && n <= _capacity + 1; n++)
            {
                if (!_leases.ContainsKey(n))
                {
                    host = n;
                }
            }

            if (host == 0)
            {
                lease = default;
                return false;
            }

            _leases[host] = deviceId;
            lease = new Lease(host, new InterfaceAddress(V4(host), _v4Prefix), _hasV6 ? new InterfaceAddress(V6(host), _v6Prefix) : null);
            return true;
        }
    }

    /// <summary>Returns a lease unless the same device has taken it over since.</summary>
    public void Release(Lease lease, string deviceId)
    {
        lock (_lock)
        {
            if (_leases.TryGetValue(lease.Host, out string? holder) && holder == deviceId)
            {
                _leases.Remove(lease.Host);
            }
        }
    }

    private IPAddress V4(int host) => new(BitConverter.IsLittleEndian ? BinaryReverse(_v4Base + (uint)host) : _v4Base + (uint)host);

    private IPAddress V6(int host)
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, _v6Base + (UInt128)host);
        return new IPAddress(bytes);
    }

    private static long BinaryReverse(uint value) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value);

    /// <summary>One lease: the host number and the addresses it stands for.</summary>
    public readonly record struct Lease(int Host, InterfaceAddress IPv4, InterfaceAddress? IPv6)
    {
        public uint IPv4Key => IpPacket.ToUInt32(IPv4.Address);

        public UInt128 IPv6Key => IPv6 is { } v6 ? IpPacket.ToUInt128(v6.Address) : UInt128.Zero;
    }
}
