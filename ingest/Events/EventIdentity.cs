using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Ingest.Events;

/// <summary>
/// An event's identity within its tenant: the message_id when given, else the canonical content
/// (group, user, timestamp, traits, context). The first 128 bits of a SHA-256, so ids cannot be forged to collide.
/// Frozen: identities computed by earlier releases must come out the same (see docs/decisions.md), so a change to
/// this input needs a new version prefix.
/// </summary>
internal static class EventIdentity
{
    /// <param name="scratch">Reused between events of one parse; reset here.</param>
    public static UInt128 Compute(
        ArrayBufferWriter<byte> scratch, string tenant, string groupId, string userId, long timestampMicros,
        string? messageId, string traitsJson, string? contextJson)
    {
        scratch.ResetWrittenCount();
        Append(scratch, "group-event/v1");
        Append(scratch, tenant);
        if (messageId is not null)
        {
            Append(scratch, "m");
            Append(scratch, messageId);
        }
        else
        {
            Append(scratch, "c");
            Append(scratch, groupId);
            Append(scratch, userId);
            BinaryPrimitives.WriteInt64BigEndian(scratch.GetSpan(8), timestampMicros);
            scratch.Advance(8);
            Append(scratch, traitsJson);
            Append(scratch, contextJson ?? "");
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(scratch.WrittenSpan, hash);
        return BinaryPrimitives.ReadUInt128BigEndian(hash);
    }

    /// <summary>The identity as the event id stored: 32 lowercase hex characters.</summary>
    public static string ToHex(UInt128 key)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Appends a string and a 0xFF separator (a byte UTF-8 never produces, so fields cannot run together).</summary>
    private static void Append(ArrayBufferWriter<byte> buffer, string value)
    {
        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length) + 1);
        var written = Encoding.UTF8.GetBytes(value, span);
        span[written] = 0xFF;
        buffer.Advance(written + 1);
    }
}
