using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Platform.ServiceDefaults.Auth;

namespace Platform.Tests.Auth;

/// <summary>The cache of validated tokens on its own: what it serves, for how long, and how many it holds.</summary>
public sealed class ValidatedTokenCacheTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(Start);
    private readonly TestSigningKeys _keys = new();

    public void Dispose() => _keys.Dispose();

    [Fact]
    public void A_remembered_token_is_served_until_the_max_age_then_forgotten()
    {
        var cache = new ValidatedTokenCache(10, TimeSpan.FromMinutes(1), _clock);
        var (text, token) = Token(expiresIn: TimeSpan.FromHours(1));
        cache.Add(text, token);

        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.True(cache.TryGet(text, out var served));
        Assert.Same(token, served);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(text, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_token_is_never_served_past_its_exp_even_within_the_max_age()
    {
        var cache = new ValidatedTokenCache(10, TimeSpan.FromMinutes(5), _clock);
        var (text, token) = Token(expiresIn: TimeSpan.FromSeconds(30));
        cache.Add(text, token);

        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True(cache.TryGet(text, out _));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(text, out _));
    }

    [Fact]
    public void An_already_expired_token_is_not_remembered()
    {
        var cache = new ValidatedTokenCache(10, TimeSpan.FromMinutes(1), _clock);
        var (text, token) = Token(expiresIn: TimeSpan.FromSeconds(-1));

        cache.Add(text, token);

        Assert.False(cache.TryGet(text, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Only_the_exact_token_text_is_served()
    {
        var cache = new ValidatedTokenCache(10, TimeSpan.FromMinutes(1), _clock);
        var (text, token) = Token(expiresIn: TimeSpan.FromHours(1));
        cache.Add(text, token);

        var lastSignatureCharacter = text[^1] == 'A' ? 'B' : 'A';
        Assert.False(cache.TryGet(text[..^1] + lastSignatureCharacter, out _));
        Assert.False(cache.TryGet(text + " ", out _));
    }

    [Fact]
    public void It_holds_at_most_max_entries_and_admits_new_tokens_once_old_ones_expire()
    {
        var cache = new ValidatedTokenCache(3, TimeSpan.FromMinutes(1), _clock);
        var tokens = Enumerable.Range(0, 5).Select(_ => Token(expiresIn: TimeSpan.FromHours(1))).ToList();

        foreach (var (text, token) in tokens)
        {
            cache.Add(text, token);
        }

        Assert.Equal(3, cache.Count);
        Assert.Equal([true, true, true, false, false], tokens.Select(t => cache.TryGet(t.Text, out _)));

        // Once the first three are past their max age, a miss sweeps them and the next token finds room.
        _clock.Advance(TimeSpan.FromMinutes(1));
        cache.Add(tokens[3].Text, tokens[3].Token);

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(tokens[3].Text, out _));
    }

    [Fact]
    public async Task Concurrent_misses_never_push_it_past_its_bound()
    {
        var cache = new ValidatedTokenCache(50, TimeSpan.FromMinutes(1), _clock);
        var tokens = Enumerable.Range(0, 400).Select(_ => Token(expiresIn: TimeSpan.FromHours(1))).ToList();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            for (var i = worker; i < tokens.Count; i += 8)
            {
                cache.Add(tokens[i].Text, tokens[i].Token);
            }
        })));

        Assert.Equal(50, cache.Count);
        Assert.Equal(50, tokens.Count(t => cache.TryGet(t.Text, out _)));
    }

    private (string Text, JsonWebToken Token) Token(TimeSpan expiresIn)
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            p["iat"] = Start.ToUnixTimeSeconds();
            p["nbf"] = Start.ToUnixTimeSeconds();
            p["exp"] = (Start + expiresIn).ToUnixTimeSeconds();
        });
        var text = TestTokens.Sign(payload, _keys.EcCredentials());
        return (text, new JsonWebToken(text));
    }
}

/// <summary>
/// The caching token handler against the library's own validation: a token is verified once while it is remembered,
/// and every other token (forged, tampered, refused before) goes through full validation.
/// </summary>
public sealed class CachingJsonWebTokenHandlerTests : IDisposable
{
    private readonly TestSigningKeys _keys = new();
    private int _keyLookups;

    public void Dispose() => _keys.Dispose();

    [Fact]
    public async Task A_valid_token_is_verified_once_and_then_served_with_a_fresh_identity()
    {
        var handler = Handler();
        var token = TestTokens.Sign(TestTokens.ValidPayload(), _keys.EcCredentials());

        var first = await handler.ValidateTokenAsync(token, Parameters());
        var second = await handler.ValidateTokenAsync(token, Parameters());

        Assert.True(first.IsValid);
        Assert.True(second.IsValid);
        Assert.Equal(1, _keyLookups);
        Assert.NotSame(first.ClaimsIdentity, second.ClaimsIdentity);
        Assert.Equal(
            first.ClaimsIdentity.Claims.Select(c => (c.Type, c.Value, c.ValueType, c.Issuer)),
            second.ClaimsIdentity.Claims.Select(c => (c.Type, c.Value, c.ValueType, c.Issuer)));
        Assert.Equal(first.ClaimsIdentity.GetType(), second.ClaimsIdentity.GetType());
        Assert.Equal(first.SecurityToken.ValidTo, second.SecurityToken.ValidTo);
    }

    [Fact]
    public async Task A_forged_signature_is_refused_after_the_genuine_token_was_remembered()
    {
        var handler = Handler();
        var genuine = TestTokens.Sign(TestTokens.ValidPayload(), _keys.RsaCredentials());
        Assert.True((await handler.ValidateTokenAsync(genuine, Parameters())).IsValid);

        var parts = genuine.Split('.');
        var forged = TestTokens.Sign(TestTokens.ValidPayload(), _keys.StrangerCredentials(TestSigningKeys.RsaKeyId)).Split('.')[2];
        var tampered = TestTokens.Sign(TestTokens.ValidPayload(p => p["tenant_id"] = "victim"), _keys.StrangerCredentials("x")).Split('.')[1];

        Assert.False((await handler.ValidateTokenAsync($"{parts[0]}.{parts[1]}.{forged}", Parameters())).IsValid);
        Assert.False((await handler.ValidateTokenAsync($"{parts[0]}.{tampered}.{parts[2]}", Parameters())).IsValid);
    }

    [Fact]
    public async Task A_refused_token_is_not_remembered()
    {
        var handler = Handler();
        var expired = TestTokens.Sign(TestTokens.ValidPayload(p =>
        {
            var past = DateTimeOffset.UtcNow.AddMinutes(-20);
            p["iat"] = past.ToUnixTimeSeconds();
            p["nbf"] = past.ToUnixTimeSeconds();
            p["exp"] = past.AddMinutes(10).ToUnixTimeSeconds();
        }), _keys.EcCredentials());

        var first = await handler.ValidateTokenAsync(expired, Parameters());
        var second = await handler.ValidateTokenAsync(expired, Parameters());

        Assert.IsType<SecurityTokenExpiredException>(first.Exception);
        Assert.IsType<SecurityTokenExpiredException>(second.Exception);
    }

    private static CachingJsonWebTokenHandler Handler() =>
        new(new ValidatedTokenCache(100, TimeSpan.FromMinutes(1), TimeProvider.System)) { MapInboundClaims = false };

    private TokenValidationParameters Parameters()
    {
        var keys = new SecurityKey[]
        {
            new RsaSecurityKey(_keys.Rsa.ExportParameters(false)) { KeyId = TestSigningKeys.RsaKeyId },
            new ECDsaSecurityKey(System.Security.Cryptography.ECDsa.Create(_keys.Ec.ExportParameters(false))) { KeyId = TestSigningKeys.EcKeyId },
        };
        return new TokenValidationParameters
        {
            ValidIssuer = TestTokens.Issuer,
            ValidAudience = TestTokens.Audience,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256],
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.Zero,
            IssuerSigningKeyResolver = (_, _, kid, _) =>
            {
                Interlocked.Increment(ref _keyLookups);
                return keys.Where(key => key.KeyId == kid);
            },
        };
    }
}

internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
