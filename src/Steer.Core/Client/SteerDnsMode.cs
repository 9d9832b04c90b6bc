namespace Steer;

/// <summary>Whether <see cref="SteerClient"/> points the OS's DNS at its stub resolver.</summary>
public enum SteerDnsMode
{
    /// <summary>When the gateway offers a resolver and the policy needs one (mode <c>all</c>, or domain rules).</summary>
    Auto,

    /// <summary>Never: the OS's DNS stays as it is (domain rules then never match).</summary>
    Off,
}
