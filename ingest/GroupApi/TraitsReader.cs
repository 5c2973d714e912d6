using System.Text;
using System.Text.Json;
using Platform.Ingest.Events;

namespace Platform.Ingest.GroupApi;

/// <summary>
/// Validates an event's <c>traits</c> object: the reference's traits by their types, any JSON value for the others,
/// names and sizes within the limits, no name twice, <c>group_type</c> present.
/// </summary>
internal sealed class TraitsReader(GroupApiOptions limits)
{
    /// <summary>Distinct trait names kept as shared strings (see <see cref="NameCache"/>).</summary>
    internal const int CachedTraitNames = 10_000;

    private readonly GroupApiOptions _limits = limits;
    private readonly NameCache _traitNames = new(CachedTraitNames, KnownTraits.Kinds.Keys);

    /// <summary>
    /// Reads and validates an event's traits: sorted by key, or null when any is invalid (the problems are recorded).
    /// Without a <c>group_type</c> trait, <paramref name="fallback"/> (when given) supplies one, which is added to the
    /// traits; without a fallback the trait is required.
    /// </summary>
    public TraitValue[]? Read(ref Utf8JsonReader reader, int index, ParseState state, out string? groupType, GroupTypeFallback? fallback = null)
    {
        groupType = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            state.AddError(index, "traits", "must be an object holding at least group_type");
            reader.Skip();
            return null;
        }

        var errorsBefore = state.ErrorCount;
        var traits = state.TraitScratch;
        traits.Clear();
        state.GroupType = null;
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = _traitNames.Get(ref reader, out var nameProblem);
            reader.Read();
            if (++count == _limits.MaxTraitsPerEvent + 1)
            {
                state.AddError(index, "traits", $"holds more than {_limits.MaxTraitsPerEvent} traits");
            }

            if (key is null)
            {
                state.AddError(index, "traits", JsonStrings.NameProblem(nameProblem!));
                reader.Skip();
                continue;
            }

            if (key.Length == 0 || Encoding.UTF8.GetByteCount(key) > _limits.MaxTraitKeyBytes)
            {
                state.AddError(index, "traits", key.Length == 0
                    ? "has an empty trait name"
                    : $"has a trait name longer than {_limits.MaxTraitKeyBytes} bytes");
                reader.Skip();
                continue;
            }

            if (TryReadTraitValue(ref reader, index, key, state, out var json))
            {
                traits.Add(new TraitValue(key, json));
            }
        }

        if (traits.Count > 1)
        {
            traits.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            for (var i = 1; i < traits.Count; i++)
            {
                if (traits[i].Key == traits[i - 1].Key)
                {
                    state.AddError(index, $"traits.{traits[i].Key}", "appears more than once");
                }
            }
        }

        var groupTypeIndex = traits.FindIndex(static t => t.Key == KnownTraits.GroupType);
        if (groupTypeIndex < 0 && fallback is not null)
        {
            if (state.ErrorCount > errorsBefore)
            {
                return null;
            }

            state.GroupType = fallback.Resolve(traits);
            traits.Add(WithGroupType(state, state.GroupType));
            traits.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            groupTypeIndex = 0;
        }

        if (groupTypeIndex < 0)
        {
            if (!state.HasErrorFor(index, "traits.group_type", errorsBefore))
            {
                state.AddError(index, "traits.group_type", "is required (for example Account or Team)");
            }

            return null;
        }

        if (state.ErrorCount > errorsBefore)
        {
            return null;
        }

        groupType = state.GroupType;
        return [.. traits];
    }

    /// <summary>The traits of an event that sent none: only the group_type its endpoint supplies.</summary>
    public static TraitValue[] OnlyGroupType(ParseState state, string groupType) => [WithGroupType(state, groupType)];

    private static TraitValue WithGroupType(ParseState state, string groupType)
    {
        state.StartValue().WriteStringValue(groupType);
        return new TraitValue(KnownTraits.GroupType, Encoding.UTF8.GetString(state.FinishValue()));
    }

    /// <summary>
    /// Validates one trait value and gives it as minified JSON, or null for a JSON null (the trait is cleared).
    /// False when the value breaks a rule (the problem is recorded).
    /// </summary>
    private bool TryReadTraitValue(ref Utf8JsonReader reader, int index, string key, ParseState state, out string? json)
    {
        json = null;
        var isKnown = KnownTraits.Kinds.TryGetValue(key, out var kind);
        if (reader.TokenType == JsonTokenType.Null)
        {
            if (key == KnownTraits.GroupType)
            {
                state.AddError(index, "traits.group_type", "is required and must be a non-empty string; it cannot be cleared");
                return false;
            }

            return true;
        }

        var writer = state.StartValue();
        if (!isKnown)
        {
            if (CanonicalJsonWriter.WriteValue(ref reader, writer) is { } fault)
            {
                state.AddError(index, $"traits.{key}{fault.Path}", fault.Message);
                return false;
            }
        }
        else if (kind == TraitKind.String)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                state.AddError(index, $"traits.{key}", "must be a string");
                reader.Skip();
                return false;
            }

            if (CanonicalJsonWriter.WriteString(ref reader, writer) is { } problem)
            {
                state.AddError(index, $"traits.{key}", problem);
                return false;
            }

            if (key == KnownTraits.GroupType)
            {
                var groupType = reader.GetString(); // Checked as valid text by WriteString.
                if (string.IsNullOrWhiteSpace(groupType))
                {
                    state.AddError(index, "traits.group_type", "must be a non-empty string");
                    return false;
                }

                state.GroupType = groupType;
            }
        }
        else if (kind == TraitKind.Integer)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var number))
            {
                state.AddError(index, $"traits.{key}", "must be an integer");
                reader.Skip();
                return false;
            }

            writer.WriteNumberValue(number);
        }
        else
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                state.AddError(index, $"traits.{key}", "must be an array of strings");
                reader.Skip();
                return false;
            }

            writer.WriteStartArray();
            var item = 0;
            var ok = true;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    state.AddError(index, $"traits.{key}[{item}]", "must be a string");
                    reader.Skip();
                    ok = false;
                }
                else if (CanonicalJsonWriter.WriteString(ref reader, writer) is { } problem)
                {
                    state.AddError(index, $"traits.{key}[{item}]", problem);
                    ok = false;
                }

                item++;
            }

            if (!ok)
            {
                return false;
            }

            writer.WriteEndArray();
        }

        var written = state.FinishValue();
        if (written.Length > _limits.MaxTraitValueBytes)
        {
            state.AddError(index, $"traits.{key}", $"is larger than {_limits.MaxTraitValueBytes} bytes");
            return false;
        }

        json = Encoding.UTF8.GetString(written);
        return true;
    }
}

/// <summary>
/// Where an event without a <c>group_type</c> trait gets one (endpoints whose senders know no such trait): the string
/// value of the trait named <paramref name="Trait"/> when the event has one, else <paramref name="Default"/>.
/// </summary>
internal sealed record GroupTypeFallback(string? Trait, string Default)
{
    public string Resolve(List<TraitValue> traits)
    {
        if (Trait is null)
        {
            return Default;
        }

        foreach (var trait in traits)
        {
            if (trait.Key == Trait && trait.Json is { Length: > 2 } json && json[0] == '"')
            {
                var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
                reader.Read();
                var value = reader.GetString(); // Canonical JSON written by this reader: valid text.
                if (!string.IsNullOrWhiteSpace(value))
                {
                    return value;
                }
            }
        }

        return Default;
    }
}
