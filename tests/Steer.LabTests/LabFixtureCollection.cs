using Xunit;

namespace Steer.LabTests;

/// <summary>
/// The tests that share one <see cref="LabFixture"/>. They run one after another; other collections (with their own
/// labs and prefixes) may run at the same time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class LabFixtureCollection : ICollectionFixture<LabFixture>
{
    public const string Name = "Lab";
}
