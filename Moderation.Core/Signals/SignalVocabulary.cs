namespace Moderation.Core.Signals;

/// <summary>What a risk signal asks the recommender to do with an item.</summary>
public static class SignalAction
{
    public const string None = "none";
    public const string Label = "label";
    public const string Demote = "demote";
    public const string Interstitial = "interstitial";
    public const string Ineligible = "ineligible";
}

/// <summary>Who produced a signal. Human signals override model signals for the same item and category.</summary>
public static class SignalSource
{
    public const string Model = "model";
    public const string HashMatch = "hash_match";
    public const string Human = "human";
}
