using Platform.Ingest.Events;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.GroupApi;

/// <summary>The outcome of parsing one request body: the events when valid, every problem otherwise.</summary>
internal sealed class ParseOutcome
{
    public List<GroupEvent> Events { get; } = [];

    public List<ApiError> Errors { get; } = [];

    /// <summary>How many events the body held (also when it is invalid; 0 when it could not be read as a batch).</summary>
    public int EventCount { get; set; }

    public bool IsValid => Errors.Count == 0;
}
