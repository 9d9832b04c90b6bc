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

    /// <summary>Pass <c>-v</c> to the steer processes.</summary>
    public bool Verbose { get; set; }

    /// <summary>How long to wait for each process to become ready.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
