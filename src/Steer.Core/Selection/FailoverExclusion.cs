using Steer.Configuration;

namespace Steer.Selection;

/// <summary>A datacenter left out of a <see cref="FailoverPlan"/>, and why.</summary>
/// <param name="Gateway">The datacenter.</param>
/// <param name="Reason">Why it is not tried, for example <c>wrong pin</c> or <c>circuit open until …</c>.</param>
public sealed record FailoverExclusion(GatewayEndpoint Gateway, string Reason);
