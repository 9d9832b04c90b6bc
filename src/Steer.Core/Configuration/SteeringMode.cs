namespace Steer.Configuration;

/// <summary>Which traffic the client steers through the gateway (JSON <c>steering.mode</c>).</summary>
public enum SteeringMode
{
    /// <summary>
    /// Full tunnel: all traffic (0.0.0.0/0 and ::/0) except <see cref="SteeringSettings.ExcludeCidrs"/> (JSON <c>"all"</c>).
    /// </summary>
    All,

    /// <summary>
    /// Split tunnel: only <see cref="SteeringSettings.IncludeCidrs"/>, less <see cref="SteeringSettings.ExcludeCidrs"/> (JSON <c>"cidrs"</c>).
    /// </summary>
    Cidrs,
}
