using Platform.Ingest.Writing;

namespace Platform.Tests.Writing;

/// <summary>The write path's capacity shared between tenants: first come, first served until congested, fair after.</summary>
public sealed class FairShareTests
{
    [Fact]
    public void A_tenant_alone_may_use_everything()
    {
        var shares = new FairShare(capacity: 1_000, threshold: 0.5);

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(ShareVerdict.Taken, shares.TryTake("flood", 100, 100));
        }

        Assert.Equal(ShareVerdict.Full, shares.TryTake("flood", 1, 1));
        Assert.Equal(1_000, shares.Used);
    }

    [Fact]
    public void Once_congested_a_tenant_holding_its_fair_share_is_refused_while_a_tenant_under_it_is_taken()
    {
        var shares = new FairShare(capacity: 1_000, threshold: 0.5);
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("quiet", 10, 10));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(ShareVerdict.Taken, shares.TryTake("flood", 100, 100));
        }

        // 510 used, two holders: a fair share is 500, and the flood holds 500.
        Assert.Equal(ShareVerdict.OverFairShare, shares.TryTake("flood", 100, 100));
        Assert.True(shares.IsOverFairShare("flood"));
        Assert.False(shares.IsOverFairShare("quiet"));
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("quiet", 100, 100));
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("newcomer", 100, 100));
    }

    [Fact]
    public void Below_the_threshold_anyone_takes_what_fits()
    {
        var shares = new FairShare(capacity: 1_000, threshold: 0.5);
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("quiet", 10, 10));

        Assert.Equal(ShareVerdict.Taken, shares.TryTake("flood", 480, 480));

        Assert.False(shares.IsOverFairShare("flood"));
    }

    [Fact]
    public void What_a_tenant_gives_back_frees_its_share_and_a_tenant_holding_nothing_is_no_longer_counted()
    {
        var shares = new FairShare(capacity: 1_000, threshold: 0);
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("a", 500, 5));
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("b", 100, 1));
        Assert.Equal(ShareVerdict.OverFairShare, shares.TryTake("a", 100, 1));

        shares.Release("b", 100, 1);

        // "a" is alone again: its share is everything.
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("a", 100, 1));
        Assert.Equal([("a", 600L, 6L)], shares.Holdings());
        Assert.Equal(600, shares.Used);
    }

    [Fact]
    public void Unowned_holdings_count_against_the_capacity_and_are_never_refused_for_fairness()
    {
        var shares = new FairShare(capacity: 1_000, threshold: 0.5);
        shares.AddUnowned(900);

        Assert.Equal(ShareVerdict.Taken, shares.TryTake(null, 50, 0));
        Assert.Equal(ShareVerdict.Full, shares.TryTake("a", 100, 1));
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("a", 50, 1));
        shares.Release(null, 950, 0);
        Assert.Equal(50, shares.Used);
    }

    [Fact]
    public void A_threshold_of_one_is_first_come_first_served()
    {
        var shares = new FairShare(capacity: 1_000, threshold: 1);
        Assert.Equal(ShareVerdict.Taken, shares.TryTake("quiet", 1, 1));

        Assert.Equal(ShareVerdict.Taken, shares.TryTake("flood", 999, 999));
        Assert.Equal(ShareVerdict.Full, shares.TryTake("quiet", 1, 1));
    }
}
