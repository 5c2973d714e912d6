using System.Diagnostics;
using System.Net;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Platform.Tests.Gateway;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Telemetry;

/// <summary>One request yields one connected trace from the gateway through ingest, and the insert links back to it.</summary>
public sealed class TraceTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly ActivitySource ClientSource = new("Platform.Tests.Client");

    [Fact]
    public async Task One_request_is_one_trace_across_gateway_and_ingest_and_the_insert_links_to_it()
    {
        var spans = new LockedSpans();
        using (Sdk.CreateTracerProviderBuilder()
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddSource("Platform.*")
            .AddInMemoryExporter(spans)
            .Build())
        {
            // The client's own span starts the trace; the client sends its context as traceparent, as an SDK would.
            ActivityTraceId traceId;
            using (var client = ClientSource.StartActivity("client.send", ActivityKind.Client))
            {
                traceId = client!.TraceId;
                using var response = await GatewayFixture.PostAsync(fixture.Gateway.Client, Batch(2, i => Event(userId: $"traced-{i}")), fixture.Tokens.Valid("traced"),
                    request => request.Headers.Add("traceparent", $"00-{client.TraceId}-{client.SpanId}-01"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            // Server spans end after the response is written; give the exporter a moment to see them.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline && Snapshot(spans).Count(s => s.TraceId == traceId && s.Kind == ActivityKind.Server) < 2)
            {
                await Task.Delay(20);
            }

            var trace = Snapshot(spans).Where(s => s.TraceId == traceId).ToList();
            var servers = trace.Where(s => s.Kind == ActivityKind.Server).ToList();
            Assert.Equal(2, servers.Count);
            // Ingest's request span is the one its dedup span hangs from; the other is the gateway's.
            var reserve = Assert.Single(trace, s => s.OperationName == "dedup.reserve");
            var ingestServer = Assert.Single(servers, s => s.SpanId == reserve.ParentSpanId);
            var gatewayServer = Assert.Single(servers, s => s != ingestServer);
            Assert.True(IsDescendant(ingestServer, gatewayServer, trace), "the ingest request span descends from the gateway's");
            Assert.True(IsDescendant(gatewayServer, trace.Single(s => s.OperationName == "client.send"), trace), "the gateway continues the client's trace");

            var insert = Assert.Single(Snapshot(spans), s => s.OperationName == "storage.insert"
                && s.Links.Any(l => l.Context.TraceId == traceId && l.Context.SpanId == ingestServer.SpanId));
            Assert.Equal(2, insert.GetTagItem("platform.events"));
        }
    }

    private static List<Activity> Snapshot(LockedSpans spans) => spans.Snapshot();

    private static bool IsDescendant(Activity span, Activity ancestor, List<Activity> trace)
    {
        var current = span;
        for (var hops = 0; hops < 10; hops++)
        {
            if (current.ParentSpanId == ancestor.SpanId)
            {
                return true;
            }

            var parent = trace.FirstOrDefault(s => s.SpanId == current.ParentSpanId);
            if (parent is null)
            {
                return false;
            }

            current = parent;
        }

        return false;
    }

    /// <summary>
    /// The exporter adds spans from whichever thread ends them, without a lock of its own; a plain list copied meanwhile
    /// throws. Every access here takes the same lock.
    /// </summary>
    private sealed class LockedSpans : System.Collections.ObjectModel.Collection<Activity>
    {
        private readonly Lock _gate = new();

        public List<Activity> Snapshot()
        {
            lock (_gate)
            {
                return [.. this];
            }
        }

        protected override void InsertItem(int index, Activity item)
        {
            lock (_gate)
            {
                base.InsertItem(index, item);
            }
        }

        protected override void ClearItems()
        {
            lock (_gate)
            {
                base.ClearItems();
            }
        }
    }
}
