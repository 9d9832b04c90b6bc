namespace Steer.Bench.Reporting;

/// <summary>The samples of one metric in one scope (a transport, or "routed" for the path without Steer).</summary>
internal sealed class MetricResult(string scope, MetricDefinition definition)
{
    private readonly List<double> _samples = [];
    private readonly List<string> _errors = [];

    /// <summary>"tls", "dtls", "default" (no --transport given) or "routed".</summary>
    public string Scope { get; } = scope;

    /// <summary>What is measured.</summary>
    public MetricDefinition Definition { get; } = definition;

    /// <summary>One value per successful run, in run order.</summary>
    public IReadOnlyList<double> Samples => _samples;

    /// <summary>Why runs failed, if any did.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>The median of the samples (mean of the middle two for an even count), or NaN without samples.</summary>
    public double Median
    {
        get
        {
            if (_samples.Count == 0)
            {
                return double.NaN;
            }

            double[] sorted = [.. _samples.Order()];
            int middle = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        }
    }

    /// <summary>The smallest sample, or NaN.</summary>
    public double Min => _samples.Count == 0 ? double.NaN : _samples.Min();

    /// <summary>The largest sample, or NaN.</summary>
    public double Max => _samples.Count == 0 ? double.NaN : _samples.Max();

    /// <summary>Whether the median meets the target; <see langword="null"/> without a target or without samples.</summary>
    public bool? Met => _samples.Count == 0 ? null : Definition.IsMet(Median);

    public void Add(double value)
    {
        if (double.IsFinite(value))
        {
            _samples.Add(value);
        }
        else
        {
            _errors.Add($"not a finite value: {value}");
        }
    }

    public void AddError(string message) => _errors.Add(message);
}
