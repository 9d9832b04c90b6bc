namespace Steer.Core.Tests.Security;

/// <summary>A clock that always says the same time, settable by the test.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
