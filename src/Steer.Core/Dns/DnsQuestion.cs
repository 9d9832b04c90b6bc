namespace Steer.DnsStub;

/// <summary>One entry of a DNS message's question section.</summary>
/// <param name="Name">The name asked for, in presentation form (<c>www.example.com</c>; the root is <c>.</c>).</param>
/// <param name="Type">The record type asked for.</param>
/// <param name="Class">The class; 1 (IN) in practice.</param>
public sealed record DnsQuestion(string Name, DnsRecordType Type, ushort Class = DnsResourceRecord.InternetClass);
