namespace Steer.DnsStub;

/// <summary>DNS resource record types (RFC 1035 and later); any other 16-bit value is valid too and kept opaque.</summary>
public enum DnsRecordType : ushort
{
    /// <summary>An IPv4 address.</summary>
    A = 1,

    /// <summary>An authoritative name server.</summary>
    NS = 2,

    /// <summary>The canonical name of an alias.</summary>
    CNAME = 5,

    /// <summary>The start of a zone of authority.</summary>
    SOA = 6,

    /// <summary>A domain name pointer.</summary>
    PTR = 12,

    /// <summary>Mail exchange.</summary>
    MX = 15,

    /// <summary>Text strings.</summary>
    TXT = 16,

    /// <summary>An IPv6 address.</summary>
    AAAA = 28,

    /// <summary>Service location.</summary>
    SRV = 33,

    /// <summary>The EDNS(0) pseudo-record (RFC 6891).</summary>
    OPT = 41,

    /// <summary>Service binding (RFC 9460).</summary>
    SVCB = 64,

    /// <summary>HTTPS service binding (RFC 9460).</summary>
    HTTPS = 65,

    /// <summary>A query for all records (in questions only).</summary>
    ANY = 255,
}
