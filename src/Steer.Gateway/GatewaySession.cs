using Steer.Protocol;

namespace Steer.Gateway;

/// <summary>One authenticated client session on the gateway.</summary>
internal sealed class GatewaySession(string id, string user, string deviceId, string remote, AddressPool.Lease lease, TunnelConnection connection)
{
    public string Id { get; } = id;

    public string User { get; } = user;

    public string DeviceId { get; } = deviceId;

    public string Remote { get; } = remote;

    public AddressPool.Lease Lease { get; } = lease;

    public TunnelConnection Connection { get; } = connection;

    public DateTimeOffset Since { get; } = DateTimeOffset.UtcNow;

    public GatewaySessionInfo Describe() => new()
    {
        Id = Id,
        User = User,
        DeviceId = DeviceId,
        Remote = Remote,
        IPv4 = Lease.IPv4.ToString(),
        IPv6 = Lease.IPv6?.ToString(),
        PacketsReceived = Connection.Counters.PacketsReceived,
        PacketsSent = Connection.Counters.PacketsSent,
        Since = Since,
    };
}
