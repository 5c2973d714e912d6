namespace Platform.Ingest.GroupApi;

/// <summary>
/// Strict ISO 8601 / RFC 3339 date-time parsing on UTF-8 bytes:
/// <c>YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm|±hhmm|±hh)</c>. A zone designator is required, so that
/// no event is silently read in the server's zone. Up to nine fractional digits are accepted; the value is
/// kept to the microsecond (digits beyond the sixth are truncated).
/// </summary>
internal static class IsoTimestamp
{
    private const long TicksPerMicrosecond = TimeSpan.TicksPerMicrosecond;

    /// <summary>Parses <paramref name="text"/> into microseconds since the Unix epoch (UTC).</summary>
    /// <returns>null on success, otherwise a message saying what is wrong.</returns>
    public static string? TryParse(ReadOnlySpan<byte> text, out long unixMicros)
    {
        unixMicros = 0;
        // Shortest form: 2023-12-14T16:07:33Z (20 bytes).
        if (text.Length < 20 || text.Length > 40)
        {
            return "must be an ISO 8601 date-time with a zone, e.g. 2023-12-14T16:07:33.571125Z";
        }

        if (!TryDigits(text, 0, 4, out var year) || text[4] != '-'
            || !TryDigits(text, 5, 2, out var month) || text[7] != '-'
            || !TryDigits(text, 8, 2, out var day) || (text[10] != 'T' && text[10] != 't')
            || !TryDigits(text, 11, 2, out var hour) || text[13] != ':'
            || !TryDigits(text, 14, 2, out var minute) || text[16] != ':'
            || !TryDigits(text, 17, 2, out var second))
        {
            return "must be an ISO 8601 date-time with a zone, e.g. 2023-12-14T16:07:33.571125Z";
        }

        if (year < 1 || month < 1 || month > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return "is not a valid calendar date and time";
        }

        var position = 19;
        long fractionMicros = 0;
        if (text[position] == '.' || text[position] == ',')
        {
            position++;
            var digits = 0;
            while (position < text.Length && IsDigit(text[position]))
            {
                if (digits < 6)
                {
                    fractionMicros = (fractionMicros * 10) + (text[position] - '0');
                }

                digits++;
                position++;
            }

            if (digits is 0 or > 9)
            {
                return "must have between 1 and 9 fractional second digits";
            }

            for (var i = digits; i < 6; i++)
            {
                fractionMicros *= 10;
            }
        }

        if (position >= text.Length)
        {
            return "must end with a zone designator (Z or an offset such as +02:00)";
        }

        var offsetMinutes = 0;
        var zone = text[position];
        if (zone is (byte)'Z' or (byte)'z')
        {
            position++;
        }
        else if (zone is (byte)'+' or (byte)'-')
        {
            var offsetHours = 0;
            var offsetMins = 0;
            var wellFormed = (text.Length - position - 1) switch
            {
                2 => TryDigits(text, position + 1, 2, out offsetHours),
                4 => TryDigits(text, position + 1, 2, out offsetHours) && TryDigits(text, position + 3, 2, out offsetMins),
                5 => TryDigits(text, position + 1, 2, out offsetHours) && text[position + 3] == ':'
                    && TryDigits(text, position + 4, 2, out offsetMins),
                _ => false,
            };
            if (!wellFormed)
            {
                return "has a malformed zone offset (use Z, +hh:mm, +hhmm or +hh)";
            }

            if (offsetHours > 23 || offsetMins > 59)
            {
                return "has a zone offset out of range";
            }

            offsetMinutes = ((offsetHours * 60) + offsetMins) * (zone == '-' ? -1 : 1);
            position = text.Length;
        }
        else
        {
            return "must end with a zone designator (Z or an offset such as +02:00)";
        }

        if (position != text.Length)
        {
            return "has unexpected characters after the zone designator";
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified);
        var utcTicks = local.Ticks - (offsetMinutes * TimeSpan.TicksPerMinute) - DateTime.UnixEpoch.Ticks;
        if (utcTicks < 0)
        {
            return "must not be before 1970-01-01T00:00:00Z";
        }

        unixMicros = (utcTicks / TicksPerMicrosecond) + fractionMicros;
        return null;
    }

    /// <summary>Formats microseconds since the epoch as <c>YYYY-MM-DDThh:mm:ss.ffffffZ</c>.</summary>
    public static string Format(long unixMicros) =>
        new DateTime(DateTime.UnixEpoch.Ticks + (unixMicros * TicksPerMicrosecond), DateTimeKind.Utc)
            .ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool TryDigits(ReadOnlySpan<byte> text, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            if (!IsDigit(text[i]))
            {
                return false;
            }

            value = (value * 10) + (text[i] - '0');
        }

        return true;
    }
}
