namespace Steer.DnsStub;

/// <summary>A snapshot of the DNS stub's counters.</summary>
/// <param name="Queries">Queries received (UDP and TCP), malformed ones included.</param>
/// <param name="TcpQueries">Of those, queries received over TCP.</param>
/// <param name="Malformed">Datagrams or TCP messages that were not DNS queries; ignored (a TCP connection is closed).</param>
/// <param name="Dropped">Queries dropped because too many were in progress.</param>
/// <param name="Steered">Queries forwarded to the tunnel upstream.</param>
/// <param name="Direct">Queries forwarded to the direct upstream.</param>
/// <param name="UpstreamTimeouts">Upstream attempts that got no answer in time.</param>
/// <param name="UpstreamFailures">Queries answered SERVFAIL because no upstream answer came.</param>
/// <param name="UpstreamTcpRetries">Upstream UDP answers that were truncated and asked again over TCP.</param>
/// <param name="TruncatedReplies">Answers too large for the client's UDP size, sent truncated so it asks over TCP.</param>
/// <param name="CallbackFailures">Answers not given (SERVFAIL) because the answer callback failed or timed out.</param>
public readonly record struct DnsStubStatistics(
    long Queries,
    long TcpQueries,
    long Malformed,
    long Dropped,
    long Steered,
    long Direct,
    long UpstreamTimeouts,
    long UpstreamFailures,
    long UpstreamTcpRetries,
    long TruncatedReplies,
    long CallbackFailures);
