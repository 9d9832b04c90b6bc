namespace Steer.Bench.Reporting;

/// <summary>All metric results of a lab benchmark run, in the order they were first recorded.</summary>
internal sealed class BenchResults
{
    private readonly List<MetricResult> _results = [];
    private readonly List<string> _notes = [];

    public IReadOnlyList<MetricResult> Results => _results;

    /// <summary>Remarks for the reader: fallbacks taken, sections skipped, warnings about the machine.</summary>
    public IReadOnlyList<string> Notes => _notes;

    public void Add(string scope, MetricDefinition definition, double value) => Get(scope, definition).Add(value);

    public void AddError(string scope, MetricDefinition definition, string message) => Get(scope, definition).AddError(message);

    public void AddNote(string note)
    {
        if (!_notes.Contains(note))
        {
            _notes.Add(note);
        }
    }

    public MetricResult Get(string scope, MetricDefinition definition)
    {
        MetricResult? result = _results.Find(r => r.Scope == scope && r.Definition.Key == definition.Key);
        if (result is null)
        {
            result = new MetricResult(scope, definition);
            _results.Add(result);
        }

        return result;
    }
}
