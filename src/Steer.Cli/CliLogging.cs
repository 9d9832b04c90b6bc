using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Steer.Cli;

/// <summary>Logging for the CLI: single-line, timestamped, on stderr; -v for debug.</summary>
/// <remarks>
/// The lines look like those of Microsoft.Extensions.Logging.Console's simple formatter with <c>SingleLine</c>
/// (<c>12:00:00.123 info: Category[EventId] message</c>), but the factory is built directly instead of through
/// <c>LoggerFactory.Create</c>: that one sets up dependency injection and options, whose open generic types NativeAOT
/// has to build at run time — about 20 ms of <c>steer</c>'s start, and a collection, for a few log lines. Lines are
/// written to stderr synchronously (one write per line), so no logger thread either; Steer logs nothing per packet.
/// </remarks>
internal static class CliLogging
{
    public static ILoggerFactory Create(bool verbose)
    {
        var filter = new LoggerFilterOptions { MinLevel = verbose ? LogLevel.Debug : LogLevel.Information };
        filter.Rules.Add(new LoggerFilterRule(providerName: null, categoryName: "Polly", logLevel: LogLevel.Warning, filter: null));
        return new LoggerFactory([new StderrLoggerProvider(colors: !Console.IsErrorRedirected)], filter);
    }

    /// <summary>Writes each log entry as one line on stderr.</summary>
    private sealed class StderrLoggerProvider(bool colors) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new StderrLogger(categoryName, colors);

        public void Dispose()
        {
        }
    }

    private sealed class StderrLogger(string category, bool colors) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (logLevel == LogLevel.None)
            {
                return;
            }

            string message = formatter(state, exception);
            var line = new StringBuilder(64 + category.Length + message.Length);
            line.Append(DateTimeOffset.Now.ToString("HH:mm:ss.fff ", CultureInfo.InvariantCulture));
            (string label, string? color) = logLevel switch
            {
                LogLevel.Trace => ("trce", null),
                LogLevel.Debug => ("dbug", null),
                LogLevel.Information => ("info", "\x1b[32m"),
                LogLevel.Warning => ("warn", "\x1b[1m\x1b[33m"),
                LogLevel.Error => ("fail", "\x1b[30m\x1b[41m"),
                _ => ("crit", "\x1b[1m\x1b[37m\x1b[41m"),
            };
            if (colors && color is not null)
            {
                line.Append(color).Append(label).Append("\x1b[39m\x1b[22m\x1b[49m");
            }
            else
            {
                line.Append(label);
            }

            line.Append(": ").Append(category).Append('[').Append(eventId.Id).Append("] ");
            AppendSingleLine(line, message);
            if (exception is not null)
            {
                line.Append(' ');
                AppendSingleLine(line, exception.ToString());
            }

            line.Append('\n');
            Console.Error.Write(line.ToString());
        }

        private static void AppendSingleLine(StringBuilder line, string text)
        {
            int start = line.Length;
            line.Append(text);
            line.Replace("\r\n", " ", start, line.Length - start).Replace('\n', ' ', start, line.Length - start);
        }
    }
}
