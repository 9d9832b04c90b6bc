namespace Steer.Policy;

/// <summary>Whether a rule steers what it matches into the tunnel or keeps it out.</summary>
public enum PolicyRuleKind
{
    /// <summary>Matching traffic goes through the tunnel (JSON <c>steering.include</c>).</summary>
    Include,

    /// <summary>Matching traffic goes direct (JSON <c>steering.exclude</c>).</summary>
    Exclude,
}
