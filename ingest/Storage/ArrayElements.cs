namespace Platform.Ingest.Storage;

/// <summary>
/// How both backends decide that a stored array trait holds a filter's operand as one of its elements, and not merely
/// somewhere deeper inside (<c>["a"]</c> holds <c>"a"</c>; <c>[["a"]]</c> and <c>[{"k":"a"}]</c> do not).
/// Neither backend can parse JSON the same way (ClickHouse 18.16 has no JSON functions; DuckDB's rewrite numbers and
/// escapes, so <c>1.50</c> would come back as <c>1.5</c>), so both split the stored canonical text into the same tokens
/// and keep the tokens at depth one, then compare texts exactly as scalar equality does.
/// </summary>
internal static class ArrayElements
{
    /// <summary>
    /// An RE2 pattern (both backends use RE2) matching, left to right, a whole string (inside canonical JSON every quote
    /// in a string is escaped, so a string never ends early and a bracket inside one is never a token), a bracket or
    /// brace, or a bare literal (number, <c>true</c>, <c>false</c>, <c>null</c>). Commas, colons and nothing else are left out.
    /// </summary>
    public const string TokenPattern = """
        "(?:[^"\\]|\\.)*"|[\[\]{}]|[^,:\[\]{}"]+
        """;
}
