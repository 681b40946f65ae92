using Moderation.Core.Scoring.Text;

namespace Moderation.Training.Text;

/// <summary>
/// The recipe of the shipped default heads: which rows of <c>../shared/data</c> and of the project's seed corpus
/// (<c>training/seed</c>) each head learns from, labelled and weighed how. Every source is its own group: its rows
/// are balanced between the two labels and the group gets a fixed share of the weight (<see cref="HeadSource.Weight"/>),
/// so no data set's size or base rate decides what the head learns. Labels differ between data sets ("hate" in
/// HatEval, the Gab corpus, implicit hate and ToxiGen is narrower than "offensive" in Davidson and OLID); the
/// parent <c>harm</c> head learns the union (hate or offensive or abusive), <c>harm.hate</c> only the narrow one.
/// </summary>
public static class DefaultHeads
{
    private const string Mit = "MIT";
    private const string Seed = "MIT (written for this project)";
    private const string Research = "research use";
    private const string NoneStated = "no licence stated";

    /// <summary>The hate and offence sources whose leave-one-source-out figures the card reports for <c>harm</c>.</summary>
    public static readonly IReadOnlyList<string> HarmSources = ["davidson_train", "hateval", "olid", "ghc_train", "implicit_hate_train", "toxigen_prompts"];

    /// <summary>The false-claim sources whose leave-one-source-out figures the card reports for <c>misinformation</c>.</summary>
    public static readonly IReadOnlyList<string> MisinformationSources = ["constraint_train", "liar_train", "coaid_train", "covid_rumor_train", "climate_fever"];

    private static bool? Label(CorpusRow r) => r["label"] == "1";
    private static Func<CorpusRow, bool?> Negative => _ => false;

    /// <summary>GHC's hate: an assault on human dignity (hd) or a call for violence (cv); "vo" (vulgar) alone is not.</summary>
    private static bool GhcHate(CorpusRow r) => r["class"].Split(';').Any(c => c is "hd" or "cv");

    public static IReadOnlyList<HeadRecipe> Recipes()
    {
        // Ordinary posts: captions (each kind its own group, so counter-speech and identity mentions are not drowned
        // by the short captions), and the news and claims of the misinformation sets, which no harm head should flag.
        HeadSource Captions(string kind, string description, double weight = 1) =>
            new("seed/captions.csv", Seed, $"{description}: negatives", r => r["kind"] == kind ? false : null, Group: $"captions: {kind}", Weight: weight);
        HeadSource[] captions =
        [
            Captions("short", "ordinary captions of one to six words"), Captions("caption", "ordinary longer captions, comments and transcripts"),
            Captions("profanity", "profanity with no target", 0.5), Captions("identity", "people naming their identity, neutral and positive mentions of groups"),
            Captions("counter", "counter-speech, abuse reported or quoted to condemn it, negated hate"),
        ];
        var claimsAsNegatives = new HeadSource("seed/claims.csv", Seed, "true and false claims, debunks: negatives (a claim is not abuse)", Negative, Weight: 0.3);
        var moreClaimsAsNegatives = claimsAsNegatives with { File = "seed/claims_more.csv" };
        HeadSource News(string file) => new($"data/{file}.csv", Research, "news and claims, every other row: negatives", Negative, Group: "news and claims", Weight: 0.5, Every: 2);
        var news = new[] { "constraint_train", "liar_train", "coaid_train", "covid_rumor_train", "climate_fever" }.Select(News).ToList();
        var neutralAboutGroups = new HeadSource("seed/bias_seed.csv", Seed, "neutral statements about groups (label 0 rows) as negatives", r => r["label"] == "0" ? false : null, Weight: 0.3);
        var identityBalance = new HeadSource("seed/identity_balance.csv", Seed, "neutral and demeaning template sentences about 77 identity groups", Label, Weight: 0.5);
        // "Politicians are all lying clowns" is opinion about what people do, not hate about who they are.
        var nonProtected = new HeadSource("seed/nonprotected_groups.csv", Seed,
            "generalisations, insults and criticism of groups that are not protected classes (politicians, referees, landlords, a team's fans): negatives",
            Negative, Group: "non-protected groups");

        List<HeadRecipe> recipes =
        [
            new("harm",
            [
                new("data/davidson_train.csv", Mit, "tweets: hate or offensive = 1, neither = 0", Label, Augment: true),
                new("data/hateval_train.csv", Research, "tweets about immigrants and women: hateful = 1", Label, Group: "hateval", Augment: true),
                new("data/hateval_val.csv", Research, "HatEval's validation split", Label, Group: "hateval", Validation: true),
                new("data/olid_train.csv", NoneStated, "tweets: offensive = 1", Label, Group: "olid", Augment: true),
                new("data/olid_val.csv", NoneStated, "OLID's validation split", Label, Group: "olid", Validation: true),
                new("data/ghc_train.csv", NoneStated, "Gab posts: hate, or vulgar (vo), = 1 (harm is broader than hate)", r => r["label"] == "1" || r["class"].Contains("vo"), Augment: true),
                new("data/implicit_hate_train.csv", "CC BY 4.0", "tweets: implicit or explicit hate = 1", Label, Augment: true),
                new("data/toxigen_prompts.csv", "CDLA-Permissive-2.0", "statements about 16 groups: hateful = 1", Label, Weight: 0.3, Augment: true),
                new("seed/harm_seed.csv", Seed, "hate, harassment, violence, self-harm, sexual = 1; none (with hard negatives) = 0", r => r["category"] != "none", Weight: 0.5, Augment: true),
                new("seed/harm_more.csv", Seed, "implicit and disguised hate, harassment, threats, self-harm encouragement, solicitation = 1; counter-speech, negation, identity mentions, figures of speech, support = 0", r => r["category"] != "none", Augment: true),
                // Stereotyping and demeaning a group is harm too (implicit hate is mostly that), not only bias.
                new("seed/bias_seed.csv", Seed, "stereotyping, demeaning or excluding statements = 1; neutral statements about the same groups = 0", Label, Weight: 0.5, Augment: true),
                new("data/redditbias_train.csv", Mit, "Reddit comments about five groups: biased = 1 (one noisy annotation each)", Label, Weight: 0.3, Augment: true),
                identityBalance, nonProtected, .. captions, claimsAsNegatives, moreClaimsAsNegatives, .. news,
            ], LeaveOneOut: HarmSources),
            new("harm.hate",
            [
                new("data/davidson_train.csv", Mit, "tweets: class hate = 1, offensive and neither = 0", r => r["class"] == "hate", Weight: 0.5, Augment: true),
                new("data/hateval_train.csv", Research, "tweets about immigrants and women: hateful = 1", Label, Group: "hateval", Augment: true),
                new("data/hateval_val.csv", Research, "HatEval's validation split", Label, Group: "hateval", Validation: true),
                new("data/olid_train.csv", NoneStated, "tweets: not offensive = 0 (offensive is not necessarily hate: left out)", r => r["label"] == "0" ? false : null, Group: "olid", Weight: 0.5),
                new("data/ghc_train.csv", NoneStated, "Gab posts: assault on human dignity or call for violence = 1; vulgar or none = 0", r => GhcHate(r), Augment: true),
                new("data/implicit_hate_train.csv", "CC BY 4.0", "tweets: implicit or explicit hate = 1", Label, Augment: true),
                new("data/toxigen_prompts.csv", "CDLA-Permissive-2.0", "statements about 16 groups: hateful = 1", Label, Weight: 0.3, Augment: true),
                new("seed/harm_seed.csv", Seed, "hate = 1, every other category = 0", r => r["category"] == "hate", Weight: 0.5, Augment: true),
                new("seed/harm_more.csv", Seed, "hate = 1, every other category = 0", r => r["category"] == "hate", Augment: true),
                neutralAboutGroups, identityBalance, nonProtected, .. captions, claimsAsNegatives, moreClaimsAsNegatives, .. news,
            ]),
        ];
        foreach (var sub in new[] { "harassment", "violence", "self_harm", "sexual" })
        {
            List<HeadSource> sources =
            [
                new("seed/harm_seed.csv", Seed, $"{sub} = 1, every other category (and the hard negatives) = 0", r => r["category"] == sub, Weight: 2),
                new("seed/harm_more.csv", Seed, $"{sub} = 1, every other category (and the hard negatives) = 0", r => r["category"] == sub, Weight: 2),
                new("data/davidson_train.csv", Mit, "tweets of class neither (every 4th) as negatives", r => r["class"] == "neither" ? false : null, Every: 4),
                neutralAboutGroups,
                identityBalance with { Description = "neutral identity-template sentences as negatives", Label = r => r["label"] == "0" ? false : null },
                .. captions, claimsAsNegatives, moreClaimsAsNegatives, .. news,
            ];
            if (sub == "violence")
                sources.Add(new("data/ghc_train.csv", NoneStated, "Gab posts: call for violence (cv) = 1, every other = 0", r => r["class"].Contains("cv"), Weight: 0.5));
            recipes.Add(new($"harm.{sub}", sources));
        }
        recipes.Add(new("misinformation",
        [
            new("data/constraint_train.csv", Research, "COVID-19 social media posts: fake = 1, real = 0 (three times the weight of a news or claims set: the posts are what a platform sees)", Label, Weight: 3),
            new("data/liar_train.csv", Research, "political claims rated false, pants-fire or barely-true = 1", Label),
            new("data/coaid_train.csv", NoneStated, "COVID-19 news titles and claims: fake = 1", Label),
            new("data/covid_rumor_train.csv", "MIT", "COVID-19 rumours: false = 1, true = 0", Label),
            new("data/climate_fever.csv", NoneStated, "climate claims: refuted = 1, supported = 0", Label),
            new("seed/claims.csv", Seed, "false claims stated as fact = 1; true statements, debunks, opinions = 0 (health, vaccines, elections, climate, science)", Label, Group: "claims", Weight: 3),
            new("seed/claims_more.csv", Seed, "more of the same: false claims = 1; true health and science statements, debunks = 0", Label, Group: "claims", Weight: 3),
            new("seed/claims_plain.csv", Seed, "plainly worded true facts and debunks = 0, false claims in the same words = 1 (health, food safety, first aid, vaccines, elections, climate, science)", Label, Group: "claims", Weight: 3),
            .. captions,
            new("seed/harm_seed.csv", Seed, "every seed post: negatives (abuse is not a false claim)", Negative, Weight: 0.5),
            new("data/davidson_train.csv", Mit, "tweets (every 4th): negatives", Negative, Group: "social posts", Every: 4),
            new("data/olid_train.csv", NoneStated, "tweets (every 4th): negatives", Negative, Group: "social posts", Every: 4),
            new("data/ghc_train.csv", NoneStated, "Gab posts (every 4th): negatives", Negative, Group: "social posts", Every: 4),
        ], TextFeatures.WithStyle, MisinformationSources));
        recipes.Add(new("bias",
        [
            new("seed/bias_seed.csv", Seed, "stereotyping, demeaning or excluding statements = 1; neutral statements about the same groups = 0", Label, Augment: true),
            identityBalance, nonProtected,
            new("seed/harm_seed.csv", Seed, "hate = 1; harassment, violence, self-harm, sexual and none = 0 (insults and profanity without a group are not bias)", r => r["category"] == "hate", Weight: 0.5, Augment: true),
            new("seed/harm_more.csv", Seed, "hate = 1; every other category = 0", r => r["category"] == "hate", Weight: 0.5, Augment: true),
            new("data/redditbias_train.csv", Mit, "Reddit comments about five groups: biased = 1 (one noisy annotation each)", Label, Weight: 0.5, Augment: true),
            new("data/implicit_hate_train.csv", "CC BY 4.0", "stereotypical or inferiority implicit hate = 1; not hate = 0", r => r["class"] == "not_hate" ? false : r["class"].Contains("stereotypical") || r["class"].Contains("inferiority") ? true : null, Weight: 0.5, Augment: true),
            new("data/toxigen_prompts.csv", "CDLA-Permissive-2.0", "statements about 16 groups: hateful = 1", Label, Weight: 0.3, Augment: true),
            new("data/davidson_train.csv", Mit, "tweets of class neither (every 4th) as negatives", r => r["class"] == "neither" ? false : null, Every: 4),
            .. captions, claimsAsNegatives, moreClaimsAsNegatives,
        ]));
        return recipes;
    }

    /// <summary>A labelled set a head never trains on, scored after training (the model card's test rows).</summary>
    public sealed record HeadTest(string Category, string File, string Description, Func<CorpusRow, bool?> Label);

    public static IReadOnlyList<HeadTest> Tests() =>
    [
        new("misinformation", "data/constraint_val.csv", "CONSTRAINT 2021 validation split (never trained on)", Label),
        new("misinformation", "data/liar_valid.csv", "LIAR validation split (never trained on)", Label),
    ];
}
