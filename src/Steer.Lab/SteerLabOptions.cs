namespace Steer.Lab;

/// <summary>Options for <see cref="SteerLab"/>.</summary>
public sealed class SteerLabOptions
{
    /// <summary>Namespace prefix; must start with <c>steer-</c>. Default <c>steer-</c>.</summary>
    public string Prefix { get; set; } = LabNames.DefaultPrefix;

    /// <summary>Tenant name used in the lab.</summary>
    public string Tenant { get; set; } = "lab";

    /// <summary>Start an iperf3 server in the internet namespace when iperf3 is installed.</summary>
    public bool StartIperf3 { get; set; } = true;

    /// <summary>
    /// Also start what steering tests need: a direct path from the client to the internet namespace (see
    /// <see cref="LabTopologyOptions.DirectPath"/>), a DNS server (dnsmasq) in the internet namespace serving the lab's
    /// names (<see cref="LabNames.TunnelName"/> and the others) on extra addresses, the client namespace's resolv.conf
    /// pointing at it, the gateway's DNS forwarder, and web servers on ports 80, 443 and 8080 of every address.
    /// </summary>
    public bool SteeringServices { get; set; }

    /// <summary>Pass <c>-v</c> to the steer processes.</summary>
    public bool Verbose { get; set; }

    /// <summary>How long to wait for each process to become ready.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
