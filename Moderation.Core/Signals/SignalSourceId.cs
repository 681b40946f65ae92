using System.Text.RegularExpressions;
using Moderation.Core.Media;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;

namespace Moderation.Core.Signals;

/// <summary>The kinds of signal source that signal health watches and a policy user may quarantine.</summary>
public static class SignalSourceKinds
{
    /// <summary>A model head and version: every score of one category by one model version.</summary>
    public const string Model = "model";

    /// <summary>A hash bank: every match against its entries (one category, the bank's action).</summary>
    public const string HashBank = "hash_bank";

    /// <summary>A claim of the claim bank: every text the claim raised <c>misinformation</c> for.</summary>
    public const string Claim = "claim";
}

/// <summary>
/// A signal source by name, as the API and the workbench write it: <c>model:{category}:{version}</c> (e.g.
/// <c>model:harm:text-harm-v3</c>), <c>hash-bank:{bank}</c> (the model version a bank's matches carry) or
/// <c>claim:{id}</c>.
/// </summary>
public sealed partial record SignalSourceId(string Kind, string Name, string? Category, string Subject)
{
    private const string ModelPrefix = "model:";
    private const string HashBankPrefix = "hash-bank:";
    private const string ClaimPrefix = "claim:";

    public static SignalSourceId Model(string category, string version) => new(SignalSourceKinds.Model, $"{ModelPrefix}{category}:{version}", category, version);

    public static SignalSourceId HashBank(string bank) => new(SignalSourceKinds.HashBank, HashMatchScorer.ModelVersionOf(bank), null, bank);

    public static SignalSourceId Claim(string id) => new(SignalSourceKinds.Claim, $"{ClaimPrefix}{id}", TextScorer.Misinformation, id);

    /// <summary>Whether routing ignores this score: its model head and version or its hash bank is quarantined.</summary>
    public static bool Quarantined(CategoryScore score, IReadOnlySet<string> quarantined) =>
        quarantined.Count > 0 && quarantined.Contains(score.ModelVersion.StartsWith(HashBankPrefix, StringComparison.Ordinal)
            ? score.ModelVersion
            : $"{ModelPrefix}{score.Category}:{score.ModelVersion}");

    /// <summary>Reads a source name; false for anything that is not one of the three forms.</summary>
    public static bool TryParse(string? name, out SignalSourceId source)
    {
        source = null!;
        if (string.IsNullOrEmpty(name) || name.Length > 300 || name.Any(char.IsControl)) return false;
        if (name.StartsWith(ModelPrefix, StringComparison.Ordinal))
        {
            var rest = name[ModelPrefix.Length..];
            var colon = rest.IndexOf(':');
            if (colon <= 0 || colon == rest.Length - 1) return false;
            var category = rest[..colon];
            var version = rest[(colon + 1)..];
            if (!ScorerOutput.IsValidCategory(category) || version.Length > 128) return false;
            source = Model(category, version);
            return true;
        }
        if (name.StartsWith(HashBankPrefix, StringComparison.Ordinal) && name.Length > HashBankPrefix.Length)
        {
            source = HashBank(name[HashBankPrefix.Length..]);
            return true;
        }
        if (name.StartsWith(ClaimPrefix, StringComparison.Ordinal) && name.Length > ClaimPrefix.Length)
        {
            source = Claim(name[ClaimPrefix.Length..]);
            return true;
        }
        return false;
    }

    /// <summary>The sources a stored score speaks for: its model head and version or its hash bank, and the claim it matched, if any.</summary>
    public static IEnumerable<SignalSourceId> OfScore(string category, string modelVersion, string? explanation)
    {
        yield return modelVersion.StartsWith(HashBankPrefix, StringComparison.Ordinal)
            ? HashBank(modelVersion[HashBankPrefix.Length..])
            : Model(category, modelVersion);
        if (category == TextScorer.Misinformation && explanation is not null && ClaimOf(explanation) is { } claim)
            yield return Claim(claim);
    }

    /// <summary>The claim a score's explanation says the text asserts ("matches known false claim {id} ..."), or null.</summary>
    public static string? ClaimOf(string explanation) =>
        MatchedClaim().Match(explanation) is { Success: true } m ? m.Groups[1].Value : null;

    // TextScorer's reason for a claim that raised the score ("debunks known false claim" did not raise it). The id is
    // followed by a space and the claim's quoted excerpt; the stored explanation is JSON, whose quotes may be escaped.
    [GeneratedRegex(@"matches known false claim (\S+) ")]
    private static partial Regex MatchedClaim();
}
