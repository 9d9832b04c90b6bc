using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Steer.DnsStub;

/// <summary>
/// One resource record. A, AAAA and CNAME have typed accessors; every other type is kept as opaque data, written back
/// byte for byte (names inside the data of the RFC 1035 types NS, SOA, PTR, MX and the like are stored uncompressed,
/// so the record stays valid wherever it is written). The EDNS(0) OPT pseudo-record is kept this way too.
/// </summary>
public sealed class DnsResourceRecord
{
    /// <summary>The class IN (1).</summary>
    public const ushort InternetClass = 1;

    /// <summary>Creates a record.</summary>
    /// <param name="name">The owner name in presentation form (<c>www.example.com</c>; <c>.</c> for the root).</param>
    /// <param name="type">The record type.</param>
    /// <param name="class">The class; for OPT the requestor's UDP payload size.</param>
    /// <param name="timeToLive">The time to live in seconds; for OPT the extended RCODE and flags.</param>
    /// <param name="data">The record data, with any names in it uncompressed.</param>
    public DnsResourceRecord(string name, DnsRecordType type, ushort @class, uint timeToLive, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        Type = type;
        Class = @class;
        TimeToLive = timeToLive;
        Data = data;
    }

    /// <summary>The owner name in presentation form.</summary>
    public string Name { get; }

    /// <summary>The record type.</summary>
    public DnsRecordType Type { get; }

    /// <summary>The class (IN is 1); for OPT, the UDP payload size.</summary>
    public ushort Class { get; }

    /// <summary>The time to live in seconds as sent; for OPT, the extended RCODE, version and flags.</summary>
    public uint TimeToLive { get; }

    /// <summary>
    /// The time to live as a duration: values with the top bit set count as 0 (RFC 2181 section 8).
    /// </summary>
    public TimeSpan Ttl => TimeSpan.FromSeconds(TimeToLive > int.MaxValue ? 0 : TimeToLive);

    /// <summary>The record data (RDATA), names in it uncompressed.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Creates an A or AAAA record, by the address family.</summary>
    /// <param name="name">The owner name.</param>
    /// <param name="address">The address.</param>
    /// <param name="timeToLive">The time to live in seconds.</param>
    /// <returns>The record.</returns>
    public static DnsResourceRecord ForAddress(string name, IPAddress address, uint timeToLive)
    {
        ArgumentNullException.ThrowIfNull(address);
        DnsRecordType type = address.AddressFamily == AddressFamily.InterNetwork ? DnsRecordType.A : DnsRecordType.AAAA;
        return new DnsResourceRecord(name, type, InternetClass, timeToLive, address.GetAddressBytes());
    }

    /// <summary>Creates a CNAME record.</summary>
    /// <param name="name">The alias.</param>
    /// <param name="canonicalName">The name it stands for.</param>
    /// <param name="timeToLive">The time to live in seconds.</param>
    /// <returns>The record.</returns>
    /// <exception cref="ArgumentException"><paramref name="canonicalName"/> is not a valid name.</exception>
    public static DnsResourceRecord ForCanonicalName(string name, string canonicalName, uint timeToLive)
    {
        ArgumentNullException.ThrowIfNull(canonicalName);
        if (!DnsName.TryEncode(canonicalName, out byte[] wire, out string error))
        {
            throw new ArgumentException(error, nameof(canonicalName));
        }

        return new DnsResourceRecord(name, DnsRecordType.CNAME, InternetClass, timeToLive, wire);
    }

    /// <summary>Creates an EDNS(0) OPT pseudo-record without options.</summary>
    /// <param name="udpPayloadSize">The largest UDP response the sender accepts (at least 512).</param>
    /// <param name="dnssecOk">The DO bit.</param>
    /// <returns>The record.</returns>
    public static DnsResourceRecord ForEdns(ushort udpPayloadSize, bool dnssecOk = false) =>
        new(DnsName.Root, DnsRecordType.OPT, udpPayloadSize, dnssecOk ? 0x8000u : 0u, ReadOnlyMemory<byte>.Empty);

    /// <summary>Returns the address of an A or AAAA record (of class IN).</summary>
    /// <param name="address">The address.</param>
    /// <returns>False for other records.</returns>
    public bool TryGetAddress([NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (Class != InternetClass
            || !((Type == DnsRecordType.A && Data.Length == 4) || (Type == DnsRecordType.AAAA && Data.Length == 16)))
        {
            return false;
        }

        address = new IPAddress(Data.Span);
        return true;
    }

    /// <summary>Returns the target of a CNAME record.</summary>
    /// <param name="canonicalName">The canonical name in presentation form.</param>
    /// <returns>False for other records.</returns>
    public bool TryGetCanonicalName([NotNullWhen(true)] out string? canonicalName)
    {
        canonicalName = null;
        if (Type != DnsRecordType.CNAME || !DnsName.IsValidWire(Data.Span))
        {
            return false;
        }

        canonicalName = DnsName.ToPresentation(Data.Span);
        return true;
    }

    /// <summary>Returns "www.example.com 300 IN A 192.0.2.1" for typed records, the data length for others.</summary>
    /// <returns>The record in a master-file-like form.</returns>
    public override string ToString()
    {
        string data = TryGetAddress(out IPAddress? address) ? address.ToString()
            : TryGetCanonicalName(out string? target) ? target
            : $"({Data.Length} bytes)";
        return $"{Name} {TimeToLive} {(Class == InternetClass ? "IN" : $"CLASS{Class}")} {Type} {data}";
    }
}
