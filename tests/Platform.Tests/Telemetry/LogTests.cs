using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Tests.Integration;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Telemetry;

/// <summary>Log lines about a request carry its tenant and response id, and never the caller's token.</summary>
public sealed class LogTests
{
    [Fact]
    public async Task A_rejected_request_logs_its_response_id_and_tenant_and_never_the_token()
    {
        var logs = new CapturingLoggerProvider();
        using var host = new IngestHost(configureServices: services => services.AddSingleton<ILoggerProvider>(logs));
        var token = host.Token("log-tenant");

        using var response = await host.SendAsync($"[{Event(userId: "")}]", token);
        var body = await ContractBody.ReadAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var lines = logs.Lines;
        var line = Assert.Single(lines, l => l.Message.StartsWith("Rejected a batch", StringComparison.Ordinal));
        Assert.Equal(body.ResponseId, line.Scope["response_id"]);
        Assert.Equal("log-tenant", line.Scope["tenant"]);
        var signature = token[(token.LastIndexOf('.') + 1)..];
        Assert.DoesNotContain(lines, l => l.ToString().Contains(signature, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_token_is_not_logged()
    {
        var logs = new CapturingLoggerProvider();
        using var host = new IngestHost(configureServices: services => services.AddSingleton<ILoggerProvider>(logs));
        var token = host.Token("log-tenant");
        var forged = token[..^4] + (token.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        using var response = await host.SendAsync(Batch(1), forged);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var payload = token.Split('.')[1];
        Assert.DoesNotContain(logs.Lines, l => l.ToString().Contains(payload, StringComparison.Ordinal));
    }

    internal sealed record LogLine(string Category, string Message, IReadOnlyDictionary<string, string?> Scope, string? Exception)
    {
        public override string ToString() =>
            $"{Category} {Message} {string.Join(' ', Scope.Select(kv => $"{kv.Key}={kv.Value}"))} {Exception}";
    }

    /// <summary>Captures every line with its scopes flattened, as a structured log sink would see it.</summary>
    internal sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private readonly List<LogLine> _lines = [];
        private IExternalScopeProvider? _scopes;

        public List<LogLine> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => owner._scopes?.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scope = new Dictionary<string, string?>();
                var other = new StringBuilder();
                owner._scopes?.ForEachScope((value, _) =>
                {
                    if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                    {
                        foreach (var (key, item) in pairs)
                        {
                            scope[key] = item?.ToString();
                        }
                    }
                    else
                    {
                        other.Append(value).Append(' ');
                    }
                }, (object?)null);
                scope["other"] = other.ToString();
                lock (owner._lines)
                {
                    owner._lines.Add(new LogLine(category, formatter(state, exception), scope, exception?.ToString()));
                }
            }
        }
    }
}
