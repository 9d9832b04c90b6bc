using System.Net;
using System.Net.Sockets;
using Steer.Policy;

namespace Steer.DnsStub;

/// <summary>Options of a <see cref="DnsStubResolver"/>.</summary>
public sealed class DnsStubResolverOptions
{
    /// <summary>Where the stub listens (UDP, and TCP on the same port). Port 0 picks a free port.</summary>
    /// <remarks>Defaults to 127.0.0.53:53.</remarks>
    public IPEndPoint ListenEndPoint { get; set; } = new(IPAddress.Parse("127.0.0.53"), 53);

    /// <summary>Whether the stub also listens on TCP (clients retry truncated answers over TCP).</summary>
    /// <remarks>Defaults to true.</remarks>
    public bool ListenOnTcp { get; set; } = true;

    /// <summary>The resolver for steered names, reached through the tunnel (the gateway's resolver). Required.</summary>
    public IPEndPoint? TunnelUpstream { get; set; }

    /// <summary>The resolver for names that go direct (the network's resolver). Required.</summary>
    public IPEndPoint? DirectUpstream { get; set; }

    /// <summary>The domain rules that decide where a name is resolved (<see cref="DomainMatcher.TryDecideResolution"/>).</summary>
    /// <remarks>Defaults to no rules.</remarks>
    public DomainMatcher Matcher { get; set; } = new([]);

    /// <summary>Where names that no domain rule decides are resolved (<see cref="SteeringPolicy.UnmatchedNameResolution"/>).</summary>
    /// <remarks>Defaults to <see cref="PolicyAction.Tunnel"/>: no query leaves the physical interface.</remarks>
    public PolicyAction UnmatchedNames { get; set; } = PolicyAction.Tunnel;

    /// <summary>
    /// Called with the addresses of every answer from the tunnel upstream that has any, before the answer is returned
    /// to the client (install host routes here). The reply waits for it; if it throws or takes longer than
    /// <see cref="CallbackTimeout"/>, the client gets SERVFAIL instead.
    /// </summary>
    /// <remarks>Defaults to none.</remarks>
    public Func<DnsResolvedAddresses, CancellationToken, ValueTask>? OnSteeredAnswer { get; set; }

    /// <summary>
    /// Called like <see cref="OnSteeredAnswer"/> for answers from the direct upstream to names that an exclude rule
    /// sent there (in mode all, install routes that keep these addresses out of the TUN).
    /// </summary>
    /// <remarks>Defaults to none.</remarks>
    public Func<DnsResolvedAddresses, CancellationToken, ValueTask>? OnExcludedAnswer { get; set; }

    /// <summary>
    /// Called for each socket the stub opens to an upstream, before it is used, with the upstream's kind: for example
    /// to set SO_MARK or bind the direct upstream's socket to the physical interface.
    /// </summary>
    /// <remarks>Defaults to none.</remarks>
    public Action<Socket, PolicyAction>? ConfigureUpstreamSocket { get; set; }

    /// <summary>How long one upstream attempt waits for an answer.</summary>
    /// <remarks>Defaults to 2 seconds.</remarks>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many times a query is sent to the upstream over UDP before the client gets SERVFAIL.</summary>
    /// <remarks>Defaults to 2.</remarks>
    public int UpstreamAttempts { get; set; } = 2;

    /// <summary>How long an answer callback may take.</summary>
    /// <remarks>Defaults to 2 seconds.</remarks>
    public TimeSpan CallbackTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many queries may be in progress at once; more are dropped (the client retries).</summary>
    /// <remarks>Defaults to 512.</remarks>
    public int MaxConcurrentQueries { get; set; } = 512;

    /// <summary>How long an idle TCP connection from a client is kept.</summary>
    /// <remarks>Defaults to 10 seconds.</remarks>
    public TimeSpan TcpIdleTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal void Validate(string argumentName)
    {
        if (ListenEndPoint is null)
        {
            throw new ArgumentException($"{nameof(ListenEndPoint)} is required.", argumentName);
        }

        if (TunnelUpstream is null || DirectUpstream is null)
        {
            throw new ArgumentException($"{nameof(TunnelUpstream)} and {nameof(DirectUpstream)} are required.", argumentName);
        }

        if (Matcher is null)
        {
            throw new ArgumentException($"{nameof(Matcher)} must not be null.", argumentName);
        }

        if (UpstreamTimeout <= TimeSpan.Zero || CallbackTimeout <= TimeSpan.Zero || TcpIdleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("Timeouts must be positive.", argumentName);
        }

        if (UpstreamAttempts < 1 || MaxConcurrentQueries < 1)
        {
            throw new ArgumentException($"{nameof(UpstreamAttempts)} and {nameof(MaxConcurrentQueries)} must be at least 1.", argumentName);
        }
    }
}
