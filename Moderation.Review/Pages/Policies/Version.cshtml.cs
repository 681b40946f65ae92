using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;
using Moderation.Review.Security;

namespace Moderation.Review.Pages.Policies;

/// <summary>
/// One policy version: its document, and for a draft the editor (per category and per locale the review band, the
/// automatic action, the demotion floor and what the recommender is told in the review band; unscored codes; the mode;
/// models allowed to act). Saving replaces the draft's document through <see cref="PolicyVersions.UpdateDraftAsync"/>,
/// whose validation refusal is shown beside each field it names. The state form moves the version (shadow, live,
/// retired, with a reason); under the two-person rule a pending live request is shown and a second policy user approves
/// it here.
/// </summary>
public sealed class PolicyVersionModel(PolicyVersions policies, IOptions<PolicyVersionOptions> options) : PageModel, IShowsRefusals
{
    /// <summary>Blank rows the editor offers for new entries.</summary>
    public const int BlankCategories = 3, BlankLocales = 2, BlankUnscored = 1;

    public PolicyVersion Version { get; private set; } = null!;
    public bool RequireSecondApprover => options.Value.RequireSecondApprover;
    public string Me => AuditActors.User(User.ToReviewer().Name);
    public string? Message { get; private set; }
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }

    /// <summary>Every field a refusal named and its reasons (<c>categories</c>, <c>locales</c>, <c>default</c>, <c>Form.Categories[1].Review</c>, ...).</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; private set; } = new Dictionary<string, string[]>();

    [BindProperty]
    public PolicyForm Form { get; set; } = new();

    public IReadOnlyList<string> NextStates => Version.State switch
    {
        PolicyStates.Draft => [PolicyStates.Shadow, PolicyStates.Live, PolicyStates.Retired],
        PolicyStates.Shadow => [PolicyStates.Live, PolicyStates.Retired],
        _ => [],
    };

    public async Task<IActionResult> OnGetAsync(string id, string? message, CancellationToken ct)
    {
        Message = message;
        await LoadAsync(id, ct);
        Form = PolicyForm.From(Version.Document, Version.Note, blankRows: Version.State == PolicyStates.Draft);
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(string id, CancellationToken ct)
    {
        await LoadAsync(id, ct);
        var document = Form.ToDocument();
        await policies.UpdateDraftAsync(id, document, Form.Note, Me, ct);
        return Redirect($"/review/policies/version/{Uri.EscapeDataString(id)}?message=saved");
    }

    public async Task<IActionResult> OnPostStateAsync(string id, string? state, string? reason, CancellationToken ct)
    {
        await LoadAsync(id, ct);
        if (string.IsNullOrEmpty(state)) throw Refusal.Invalid("state", $"is required: one of {PolicyStates.Shadow}, {PolicyStates.Live}, {PolicyStates.Retired}");
        var moved = await policies.SetStateAsync(id, state, Me, reason, ct);
        var message = moved.State == state
            ? $"{moved.Version} is {moved.State}."
            : $"Going live requested: a second policy user must approve it.";
        return Redirect($"/review/policies/version/{Uri.EscapeDataString(id)}?message={Uri.EscapeDataString(message)}");
    }

    private async Task LoadAsync(string id, CancellationToken ct) =>
        Version = await policies.FindAsync(id, ct) ?? throw PolicyVersions.NotFound(id);

    /// <summary>A refused save shows the form as it was posted, each message beside its field; a refused move shows the version again.</summary>
    public async Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        if (Version is null) return NotFound();
        Error = refusal.Message;
        ErrorField = refusal.Field;
        Errors = refusal.Errors;
        // The version was read before anything could be refused but its absence (handled above).
        if (Request.Query["handler"] != "Save") Form = PolicyForm.From(Version!.Document, Version.Note, blankRows: Version.State == PolicyStates.Draft);
        return Page();
    }

    /// <summary>Messages of the document's validation that name this entry (its category, "default", or "category in locale").</summary>
    public IEnumerable<string> ErrorsFor(string field, string entry) =>
        (Errors.GetValueOrDefault(field) ?? []).Where(m => m.Contains($"'{entry}'", StringComparison.Ordinal));

    /// <summary>Messages for one input of the form (a number that is not one, a row without a name).</summary>
    public IEnumerable<string> InputErrors(string input) => Errors.GetValueOrDefault(input) ?? [];
}

/// <summary>The editor's fields, as typed (numbers are parsed on save, so a typo is a message, not a lost value).</summary>
public sealed class PolicyForm
{
    public string? Mode { get; set; }
    public string? DemotionFloor { get; set; }
    public string? Note { get; set; }
    public ThresholdRow Default { get; set; } = new();
    public List<ThresholdRow> Categories { get; set; } = [];
    public List<ThresholdRow> Locales { get; set; } = [];
    public List<UnscoredRow> Unscored { get; set; } = [];

    /// <summary>Models allowed to act, one a line.</summary>
    public string? ActOnModels { get; set; }

    /// <param name="blankRows">Offer empty rows for new entries (a draft's editor); a frozen version shows only what it holds.</param>
    public static PolicyForm From(RoutingPolicyOptions document, string? note, bool blankRows) => new()
    {
        Mode = document.Mode.ToString(),
        DemotionFloor = Number(document.DemotionFloor),
        Note = note,
        Default = ThresholdRow.From(null, "default", document.Default),
        Categories = document.Categories.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => ThresholdRow.From(null, c.Key, c.Value))
            .Concat(Enumerable.Range(0, blankRows ? PolicyVersionModel.BlankCategories : 0).Select(_ => new ThresholdRow())).ToList(),
        Locales = document.Locales.OrderBy(l => l.Key, StringComparer.OrdinalIgnoreCase)
            .SelectMany(l => l.Value.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => ThresholdRow.From(l.Key, c.Key, c.Value)))
            .Concat(Enumerable.Range(0, blankRows ? PolicyVersionModel.BlankLocales : 0).Select(_ => new ThresholdRow())).ToList(),
        Unscored = document.Unscored.OrderBy(u => u.Key, StringComparer.Ordinal).Select(u => new UnscoredRow { Code = u.Key, Outcome = u.Value.ToString() })
            .Concat(Enumerable.Range(0, blankRows ? PolicyVersionModel.BlankUnscored : 0).Select(_ => new UnscoredRow())).ToList(),
        ActOnModels = string.Join("\n", document.ActOnModels),
    };

    /// <summary>The document the form describes; rows without a name are left out. Inputs that cannot be read are refused, each named.</summary>
    public RoutingPolicyOptions ToDocument()
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Fail(string input, string reason)
        {
            if (!errors.TryGetValue(input, out var list)) errors[input] = list = [];
            list.Add(reason);
        }
        var document = new RoutingPolicyOptions
        {
            Mode = Parse<PolicyMode>(Mode, "Form.Mode", PolicyMode.Enforce, Fail),
            DemotionFloor = ParseNumber(DemotionFloor, "Form.DemotionFloor", Fail) ?? 0.2,
            Default = Default.ToThresholds("Form.Default", Fail),
            Categories = new(StringComparer.Ordinal),
            Locales = new(StringComparer.OrdinalIgnoreCase),
            Unscored = new(StringComparer.Ordinal),
            ActOnModels = (ActOnModels ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
        };
        for (var i = 0; i < Categories.Count; i++)
        {
            var row = Categories[i];
            if (string.IsNullOrWhiteSpace(row.Name)) continue;
            var name = row.Name.Trim();
            if (!document.Categories.TryAdd(name, row.ToThresholds($"Form.Categories[{i}]", Fail)))
                Fail($"Form.Categories[{i}].Name", $"'{name}' is listed twice");
        }
        for (var i = 0; i < Locales.Count; i++)
        {
            var row = Locales[i];
            if (string.IsNullOrWhiteSpace(row.Name) && string.IsNullOrWhiteSpace(row.Locale)) continue;
            if (string.IsNullOrWhiteSpace(row.Locale)) { Fail($"Form.Locales[{i}].Locale", "is required: a language tag such as pt or pt-BR"); continue; }
            if (string.IsNullOrWhiteSpace(row.Name)) { Fail($"Form.Locales[{i}].Name", "is required: the category these thresholds are for"); continue; }
            var locale = row.Locale.Trim();
            if (!document.Locales.TryGetValue(locale, out var entries)) document.Locales[locale] = entries = new(StringComparer.Ordinal);
            if (!entries.TryAdd(row.Name.Trim(), row.ToThresholds($"Form.Locales[{i}]", Fail)))
                Fail($"Form.Locales[{i}].Name", $"'{row.Name.Trim()}' is listed twice for {locale}");
        }
        for (var i = 0; i < Unscored.Count; i++)
        {
            var row = Unscored[i];
            if (string.IsNullOrWhiteSpace(row.Code)) continue;
            if (!document.Unscored.TryAdd(row.Code.Trim(), Parse<UnscoredOutcome>(row.Outcome, $"Form.Unscored[{i}].Outcome", UnscoredOutcome.Review, Fail)))
                Fail($"Form.Unscored[{i}].Code", $"'{row.Code.Trim()}' is listed twice");
        }
        if (errors.Count > 0)
            throw Refusal.Invalid(errors.ToDictionary(e => e.Key, e => e.Value.ToArray()), "Some fields cannot be read: " + string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
        return document;
    }

    internal static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    internal static double? ParseNumber(string? value, string input, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number)) return number;
        fail(input, $"'{value}' is not a number (use a dot for decimals: 0.75)");
        return null;
    }

    internal static T Parse<T>(string? value, string input, T fallback, Action<string, string> fail) where T : struct, Enum
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        if (Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)) return parsed;
        fail(input, $"'{value}' is not one of {string.Join(", ", Enum.GetNames<T>())}");
        return fallback;
    }
}

/// <summary>One row of thresholds: the default, a category, or a category in a locale.</summary>
public sealed class ThresholdRow
{
    public string? Locale { get; set; }
    public string? Name { get; set; }
    public string? Review { get; set; }
    public string? Action { get; set; }
    public string? OnAction { get; set; }
    public string? OnReview { get; set; }
    public string? DemotionFloor { get; set; }

    public static ThresholdRow From(string? locale, string name, CategoryThresholds t) => new()
    {
        Locale = locale, Name = name, Review = PolicyForm.Number(t.Review), Action = PolicyForm.Number(t.Action),
        OnAction = t.OnAction.ToString(), OnReview = t.OnReview.ToString(), DemotionFloor = t.DemotionFloor is { } f ? PolicyForm.Number(f) : null,
    };

    public CategoryThresholds ToThresholds(string prefix, Action<string, string> fail)
    {
        var review = PolicyForm.ParseNumber(Review, $"{prefix}.Review", fail);
        var action = PolicyForm.ParseNumber(Action, $"{prefix}.Action", fail);
        if (string.IsNullOrWhiteSpace(Review)) fail($"{prefix}.Review", "is required");
        if (string.IsNullOrWhiteSpace(Action)) fail($"{prefix}.Action", "is required");
        return new CategoryThresholds
        {
            Review = review ?? 0, Action = action ?? 0,
            OnAction = PolicyForm.Parse(OnAction, $"{prefix}.OnAction", SignalActionSetting.Ineligible, fail),
            OnReview = PolicyForm.Parse(OnReview, $"{prefix}.OnReview", ReviewBandSetting.Demote, fail),
            DemotionFloor = PolicyForm.ParseNumber(DemotionFloor, $"{prefix}.DemotionFloor", fail),
        };
    }
}

/// <summary>Where an upload goes when a scorer declined to score it, for one abstention code.</summary>
public sealed class UnscoredRow
{
    public string? Code { get; set; }
    public string? Outcome { get; set; }
}
