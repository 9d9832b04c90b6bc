namespace Steer.Policy;

/// <summary>What a steering policy sends through the tunnel when no rule says otherwise (JSON <c>steering.mode</c>).</summary>
public enum PolicyMode
{
    /// <summary>All traffic is steered, less the exclude rules (JSON <c>"all"</c>).</summary>
    All,

    /// <summary>
    /// Web traffic is steered: TCP ports 80 and 443 and UDP port 443 (HTTP/3), plus the include rules; everything else
    /// goes direct (JSON <c>"web"</c>).
    /// </summary>
    Web,

    /// <summary>Only the include rules are steered; everything else goes direct (JSON <c>"listed"</c>, or <c>"cidrs"</c>).</summary>
    Listed,
}
