namespace Steer.Bench.Reporting;

/// <summary>Whether a metric has a target from issue 6, and which way.</summary>
internal enum TargetKind
{
    /// <summary>No target: reported for information.</summary>
    None,

    /// <summary>Met when the median is at least <see cref="MetricDefinition.Target"/>.</summary>
    AtLeast,

    /// <summary>Met when the median is at most <see cref="MetricDefinition.Target"/>.</summary>
    AtMost,
}

/// <summary>
/// One reported quantity: its stable key (used in the JSON), a label for the table, the unit, the target of
/// issue 6 and the OpenConnect anchor measured in the same lab (TLS and DTLS), when there is one.
/// </summary>
internal sealed record MetricDefinition(
    string Key,
    string Label,
    string Unit,
    TargetKind TargetKind = TargetKind.None,
    double Target = 0,
    double? AnchorTls = null,
    double? AnchorDtls = null,
    string Format = "0.0")
{
    /// <summary>The anchor for <paramref name="transport"/>: DTLS figures for "dtls", else TLS figures.</summary>
    public double? AnchorFor(string transport)
        => string.Equals(transport, "dtls", StringComparison.OrdinalIgnoreCase) ? AnchorDtls ?? AnchorTls : AnchorTls;

    /// <summary>The target as text, e.g. "≥ 1800".</summary>
    public string TargetText => TargetKind switch
    {
        TargetKind.AtLeast => $">= {Target.ToString(Format, System.Globalization.CultureInfo.InvariantCulture)}",
        TargetKind.AtMost => $"<= {Target.ToString(Format, System.Globalization.CultureInfo.InvariantCulture)}",
        _ => "",
    };

    /// <summary>True/false when the metric has a target, <see langword="null"/> otherwise.</summary>
    public bool? IsMet(double value) => TargetKind switch
    {
        TargetKind.AtLeast => value >= Target,
        TargetKind.AtMost => value <= Target,
        _ => null,
    };
}
