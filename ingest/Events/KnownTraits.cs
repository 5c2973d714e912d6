using System.Collections.Frozen;

namespace Platform.Ingest.Events;

internal enum TraitKind
{
    String,
    Integer,
    StringArray,
}

/// <summary>
/// The traits the Group API reference defines, with their types. Any other trait is accepted with any JSON value.
/// </summary>
internal static class KnownTraits
{
    public const string GroupType = "group_type";

    public static readonly FrozenDictionary<string, TraitKind> Kinds = new Dictionary<string, TraitKind>(StringComparer.Ordinal)
    {
        [GroupType] = TraitKind.String,
        ["name"] = TraitKind.String,
        ["planName"] = TraitKind.String,
        ["domain"] = TraitKind.String,
        ["enrichment_name"] = TraitKind.String,
        ["enrichment_legal_name"] = TraitKind.String,
        ["enrichment_domain"] = TraitKind.String,
        ["enrichment_domain_aliases"] = TraitKind.StringArray,
        ["enrichment_phone_numbers"] = TraitKind.StringArray,
        ["enrichment_email_addresses"] = TraitKind.StringArray,
        ["enrichment_sector"] = TraitKind.String,
        ["enrichment_industry_group"] = TraitKind.String,
        ["enrichment_industry"] = TraitKind.String,
        ["enrichment_sub_industry"] = TraitKind.String,
        ["enrichment_tags"] = TraitKind.StringArray,
        ["enrichment_description"] = TraitKind.String,
        ["enrichment_founder_year"] = TraitKind.Integer,
        ["enrichment_location"] = TraitKind.String,
        ["enrichment_time_zone"] = TraitKind.String,
        ["enrichment_street_number"] = TraitKind.String,
        ["enrichment_street_name"] = TraitKind.String,
        ["enrichment_street_address"] = TraitKind.String,
        ["enrichment_city"] = TraitKind.String,
        ["enrichment_postal_code"] = TraitKind.String,
        ["enrichment_state"] = TraitKind.String,
        ["enrichment_state_code"] = TraitKind.String,
        ["enrichment_country"] = TraitKind.String,
        ["enrichment_country_code"] = TraitKind.String,
        ["enrichment_logo"] = TraitKind.String,
        ["enrichment_linkedin_handle"] = TraitKind.String,
        ["enrichment_facebook_handle"] = TraitKind.String,
        ["enrichment_twitter_handle"] = TraitKind.String,
        ["enrichment_crunchbase_handle"] = TraitKind.String,
        ["enrichment_email_provider"] = TraitKind.String,
        ["enrichment_type"] = TraitKind.String,
        ["enrichment_phone"] = TraitKind.String,
        ["enrichment_traffic_rank"] = TraitKind.String,
        ["enrichment_employees"] = TraitKind.Integer,
        ["enrichment_employees_range"] = TraitKind.String,
        ["enrichment_market_cap"] = TraitKind.String,
        ["enrichment_raised"] = TraitKind.String,
        ["enrichment_annual_revenue"] = TraitKind.String,
        ["enrichment_tech"] = TraitKind.String,
        ["enrichment_tech_categories"] = TraitKind.StringArray,
    }.ToFrozenDictionary(StringComparer.Ordinal);
}
