using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Platform.Perf.LoadGen.Engine;

/// <summary>
/// One batch of a retrying run: when it was first sent and finally answered 200 (Unix seconds, comparable with the fault
/// script's timestamps; <see cref="double.NaN"/> when it was given up on), how many sends it took and its last status.
/// </summary>
internal readonly record struct Delivery(double FirstSentUnix, double DeliveredUnix, int Attempts, int LastStatus)
{
    public bool Delivered => !double.IsNaN(DeliveredUnix);
}

/// <summary>
/// What a retrying client saw over a run: every attempt's status (the recorder keeps only each batch's final outcome),
/// the answers outside the contract, and every batch's delivery. An answer is in the contract when it is a 200, a 4xx
/// the contract lists, or a 429/503 with <c>Retry-After</c> and the <c>{success, response_id, message}</c> body; a 502,
/// a 504, an empty body or a 503 without <c>Retry-After</c> is not. No answer at all (a refused or reset connection,
/// a timeout) is counted apart: it is what a client sees while the process it connects to is down.
/// </summary>
internal sealed class DeliveryLog
{
    private readonly object _gate = new();
    private readonly SortedDictionary<int, long> _attemptStatuses = [];
    private readonly List<string> _nonContractSamples = [];
    private readonly ConcurrentQueue<Delivery> _deliveries = new();
    private long _nonContract;

    public long NonContract => Interlocked.Read(ref _nonContract);

    public IReadOnlyCollection<Delivery> Deliveries => _deliveries;

    public static double UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    public static bool InContract(int status, bool hasRetryAfter, bool hasContractBody) => status switch
    {
        0 or 200 => true,
        400 or 401 or 403 or 413 => hasContractBody,
        429 or 503 => hasRetryAfter && hasContractBody,
        _ => false,
    };

    public void RecordAttempt(int status, bool inContract, string? error)
    {
        lock (_gate)
        {
            _attemptStatuses[status] = _attemptStatuses.GetValueOrDefault(status) + 1;
            if (!inContract)
            {
                _nonContract++;
                if (_nonContractSamples.Count < 5 && error is not null && !_nonContractSamples.Contains(error))
                {
                    _nonContractSamples.Add(error);
                }
            }
        }
    }

    public void RecordDelivery(Delivery delivery) => _deliveries.Enqueue(delivery);

    /// <summary>Every attempt's status as "200×812 503×40" (0 is no answer).</summary>
    public string AttemptStatuses()
    {
        lock (_gate)
        {
            return string.Join(' ', _attemptStatuses.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key}×{s.Value}")));
        }
    }

    /// <summary>How many attempts were answered <paramref name="status"/>.</summary>
    public long AttemptsAnswered(int status)
    {
        lock (_gate)
        {
            return _attemptStatuses.GetValueOrDefault(status);
        }
    }

    public long Attempts()
    {
        lock (_gate)
        {
            return _attemptStatuses.Values.Sum();
        }
    }

    public IReadOnlyList<string> NonContractSamples()
    {
        lock (_gate)
        {
            return [.. _nonContractSamples];
        }
    }

    /// <summary>deliveries.csv: one line per batch, in first-send order.</summary>
    public string Csv()
    {
        var csv = new StringBuilder("first_sent_unix,delivered_unix,attempts,last_status\n");
        foreach (var d in _deliveries.OrderBy(d => d.FirstSentUnix))
        {
            csv.Append(CultureInfo.InvariantCulture, $"{d.FirstSentUnix:F3},{(d.Delivered ? d.DeliveredUnix.ToString("F3", CultureInfo.InvariantCulture) : "")},{d.Attempts},{d.LastStatus}\n");
        }

        return csv.ToString();
    }
}
