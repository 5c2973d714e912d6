using Platform.Ingest.Storage.ClickHouse;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>The one escaper every value in ClickHouse SQL goes through (no server needed).</summary>
public sealed class ClickHouseSqlTests
{
    [Theory]
    [InlineData("plain", "'plain'")]
    [InlineData("it's", @"'it\'s'")]
    [InlineData(@"back\slash", @"'back\\slash'")]
    [InlineData(@"\'", @"'\\\''")]
    [InlineData("x' OR 1=1 --", @"'x\' OR 1=1 --'")]
    [InlineData("a\nb\rc\td\0e", @"'a\nb\rc\td\0e'")]
    [InlineData("\u0001\u001f\u007f", @"'\x01\x1F\x7F'")]
    [InlineData("ünï 😀", "'ünï 😀'")]
    [InlineData("", "''")]
    public void A_string_literal_escapes_quotes_backslashes_and_control_characters(string value, string expected)
    {
        Assert.Equal(expected, ClickHouseSql.String(value));
    }

    [Fact]
    public void No_string_can_end_its_literal_early()
    {
        var hostile = string.Concat(Enumerable.Range(0, 128).Select(i => (char)i)) + "'\\''\\\\'";

        var literal = ClickHouseSql.String(hostile)[1..^1];

        // Every quote inside is preceded by an odd number of backslashes: escaped, never closing.
        for (var i = 0; i < literal.Length; i++)
        {
            if (literal[i] == '\'')
            {
                var backslashes = 0;
                for (var j = i - 1; j >= 0 && literal[j] == '\\'; j--)
                {
                    backslashes++;
                }

                Assert.True(backslashes % 2 == 1, $"unescaped quote at {i}");
            }
        }
    }

    [Fact]
    public void Numbers_are_invariant_and_only_finite_floats_are_accepted()
    {
        Assert.Equal("-42", ClickHouseSql.Number(-42L));
        Assert.Equal("toFloat64('1.5')", ClickHouseSql.Number(1.5));
        Assert.Equal("toFloat64('1E+300')", ClickHouseSql.Number(1e300));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClickHouseSql.Number(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClickHouseSql.Number(double.PositiveInfinity));
    }

    [Theory]
    [InlineData("platform", true)]
    [InlineData("t_0123abc", true)]
    [InlineData("_x", true)]
    [InlineData("1abc", false)]
    [InlineData("a-b", false)]
    [InlineData("a`b", false)]
    [InlineData("a.b", false)]
    [InlineData("", false)]
    [InlineData("ünï", false)]
    public void Identifiers_are_plain_or_refused(string name, bool plain)
    {
        Assert.Equal(plain, ClickHouseSql.IsPlainIdentifier(name));
        if (plain)
        {
            Assert.Equal("`" + name + "`", ClickHouseSql.Identifier(name));
        }
        else
        {
            Assert.Throws<ArgumentException>(() => ClickHouseSql.Identifier(name));
        }
    }
}
