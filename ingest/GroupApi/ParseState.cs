using System.Buffers;
using System.Text.Json;
using Platform.Ingest.Events;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.GroupApi;

/// <summary>Scratch buffers and results of one parse; not shared between requests.</summary>
internal sealed class ParseState : IDisposable
{
    private readonly ArrayBufferWriter<byte> _valueBuffer = new(256);
    private readonly Utf8JsonWriter _writer;
    private int _unlisted;

    public ParseState(GroupApiOptions limits, string tenant, DateTimeOffset now)
    {
        Tenant = tenant;
        ReceivedMicros = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;
        MaxFutureSkew = limits.MaxFutureSkew;
        LatestAcceptedMicros = ReceivedMicros + (limits.MaxFutureSkew.Ticks / TimeSpan.TicksPerMicrosecond);
        _writer = new Utf8JsonWriter(_valueBuffer, CanonicalJson.WriterOptions);
    }

    public string Tenant { get; }

    /// <summary>The receive time (the parser's clock when the parse began), in microseconds since the epoch.</summary>
    public long ReceivedMicros { get; }

    /// <summary>The latest timestamp accepted: the receive time plus <see cref="GroupApiOptions.MaxFutureSkew"/>.</summary>
    public long LatestAcceptedMicros { get; }

    public TimeSpan MaxFutureSkew { get; }

    public ParseOutcome Outcome { get; } = new();

    public HashSet<string> DistinctGroups { get; } = new(StringComparer.Ordinal);

    public List<TraitValue> TraitScratch { get; } = [];

    /// <summary>The current event's group_type, as read while validating it.</summary>
    public string? GroupType { get; set; }

    public ArrayBufferWriter<byte> HashInput { get; } = new(512);

    public int ErrorCount => Outcome.Errors.Count + _unlisted;

    public void AddError(int? index, string field, string message)
    {
        if (Outcome.Errors.Count < GroupEventParser.MaxListedErrors)
        {
            Outcome.Errors.Add(new ApiError(index, field, message));
        }
        else
        {
            _unlisted++;
        }
    }

    public bool HasErrorFor(int index, string field, int since)
    {
        for (var i = since; i < Outcome.Errors.Count; i++)
        {
            if (Outcome.Errors[i].Index == index && Outcome.Errors[i].Field == field)
            {
                return true;
            }
        }

        return false;
    }

    public Utf8JsonWriter StartValue()
    {
        _valueBuffer.ResetWrittenCount();
        _writer.Reset(_valueBuffer);
        return _writer;
    }

    public ReadOnlySpan<byte> FinishValue()
    {
        _writer.Flush();
        return _valueBuffer.WrittenSpan;
    }

    public void Finish()
    {
        if (_unlisted > 0)
        {
            Outcome.Errors.Add(new ApiError(null, "body", $"{_unlisted} more problems were found and not listed"));
        }

        if (!Outcome.IsValid)
        {
            Outcome.Events.Clear();
        }
    }

    /// <summary>
    /// Like <see cref="Finish"/>, for endpoints that store the valid events of a request and report the others:
    /// the valid events are kept beside the problems.
    /// </summary>
    public void FinishKeepingValid()
    {
        if (_unlisted > 0)
        {
            Outcome.Errors.Add(new ApiError(null, "body", $"{_unlisted} more problems were found and not listed"));
        }
    }

    public void Dispose() => _writer.Dispose();
}
