namespace Steer.Bench;

/// <summary>What the lab benchmark measures and for how long.</summary>
internal sealed class BenchOptions
{
    /// <summary>Runs per measurement; the report gives their median, min and max. Defaults to 3.</summary>
    public int Runs { get; set; } = 3;

    /// <summary>Seconds per iperf3 run. Defaults to 5.</summary>
    public int DurationSeconds { get; set; } = 5;

    /// <summary>
    /// Transports to measure, each passed to <c>steer up --transport</c>; empty measures once without the option
    /// (the client's default transport, TLS today).
    /// </summary>
    public IReadOnlyList<string> Transports { get; set; } = [];

    /// <summary>The sections to run. Defaults to all.</summary>
    public BenchSections Sections { get; set; } = BenchSections.All;

    /// <summary>iperf3 UDP datagram size (<c>-l</c>). Defaults to 64 bytes.</summary>
    public int UdpLength { get; set; } = 64;

    /// <summary>iperf3 UDP offered rate (<c>-b</c>); <c>0</c> means as fast as the sender can. Defaults to 0.</summary>
    public string UdpBitrate { get; set; } = "0";

    /// <summary>Pings per RTT run. Defaults to 200.</summary>
    public int PingCount { get; set; } = 200;

    /// <summary>Seconds between pings. Defaults to 0.01.</summary>
    public double PingInterval { get; set; } = 0.01;

    /// <summary>Namespace prefix of the lab. Defaults to <c>steer-bench-</c>.</summary>
    public string Prefix { get; set; } = "steer-bench-";

    /// <summary>Folder for the JSON result; <see langword="null"/> for <c>bench/results</c> of the repository.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Log the lab's processes to stderr.</summary>
    public bool Verbose { get; set; }
}

/// <summary>Parts of the lab benchmark.</summary>
[Flags]
internal enum BenchSections
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>The plain routed path without Steer (the ceiling) and the direct ping.</summary>
    Routed = 1,

    /// <summary>Time from <c>steer up</c> to "connected" and to the first packet through.</summary>
    Start = 2,

    /// <summary>Ping RTT through the tunnel and direct.</summary>
    Ping = 4,

    /// <summary>iperf3 TCP, 1 and 4 streams, both directions, with CPU per GB and RSS.</summary>
    Tcp = 8,

    /// <summary>iperf3 UDP flood of small datagrams, both directions.</summary>
    Udp = 16,

    /// <summary>Everything.</summary>
    All = Routed | Start | Ping | Tcp | Udp,
}
