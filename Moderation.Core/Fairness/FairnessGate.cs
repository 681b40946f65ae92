using System.Text.Json;
using Moderation.Core.Models;
using Moderation.Core.Refusals;

namespace Moderation.Core.Fairness;

/// <summary>
/// The one way a person changes a model version's state (<c>POST /v1/models/{category}/{version}/state</c>,
/// <c>models set-state</c>): going live is held to the fairness floor (<see cref="FairnessOptions"/>). A text head in a
/// floored category whose template audit is below it does not go live unless the request carries an override with a
/// reason; the override is an audit event (<c>model.fairness_override</c>, with the author, the reason and the failing
/// figures) in the same transaction as the promotion, so the trail shows who overrode what and why. Other states, and
/// versions the floor does not cover, go straight to <see cref="ModelRegistry.SetStateAsync"/>.
/// </summary>
public sealed class FairnessGate(ModelRegistry registry, FairnessReports reports)
{
    public const string OverrideAction = "model.fairness_override";
    public const string OverrideField = "fairnessOverride";

    public ModelRegistry Registry => registry;

    /// <exception cref="Refusal">
    /// Conflict (field <c>fairnessOverride</c>, with <c>failingGroups</c>, <c>bpsnMean</c> and the floor as details): the
    /// version is below the floor and no override was given; otherwise as <see cref="ModelRegistry.SetStateAsync"/>.
    /// </exception>
    public async Task<ModelVersionInfo> SetStateAsync(string category, string version, string state, string actor, string? reason,
        string? fairnessOverride, CancellationToken ct)
    {
        if (fairnessOverride is not null)
        {
            if (fairnessOverride.Length > ModelRegistry.MaxReasonLength)
                throw Refusal.Invalid(OverrideField, $"The override's reason is {fairnessOverride.Length} characters long; the limit is {ModelRegistry.MaxReasonLength}.");
            if (fairnessOverride.Contains('\0')) throw Refusal.Invalid(OverrideField, "The override's reason contains a NUL character.");
            if (fairnessOverride.Trim().Length == 0) throw Refusal.Invalid(OverrideField, "An override needs its reason (it goes into the audit trail).");
        }
        if (state != ModelStates.Live) return await registry.SetStateAsync(category, version, state, actor, reason, ct);
        var info = await registry.FindAsync(category, version, ct) ?? throw ModelRegistry.NotFound(category, version);
        if (info.State == ModelStates.Live) return info;

        if (reports.NoFloorReason(info) is not null) return await registry.SetStateAsync(category, version, state, actor, reason, ct);
        TemplateAudit? audit = null;
        FairnessFloor floor;
        try
        {
            audit = (await reports.TemplateAuditAsync(info, ct)).Audit!;
            floor = reports.Floor(info, audit);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException && !ct.IsCancellationRequested)
        {
            // Bytes that do not load as a head cannot show they meet the floor: held like a head below it.
            var options = reports.Options;
            floor = new FairnessFloor(true, false, options.MinBpsnMean, options.MinGroupBpsn, true, [],
                $"its template audit could not be computed ({e.Message}).");
        }
        if (floor.Passes) return await registry.SetStateAsync(category, version, state, actor, reason, ct);
        if (fairnessOverride is null)
            throw Refusal.Conflict(
                $"{category}@{version} is below the fairness floor and does not go live without an override: {floor.Summary} " +
                $"To make it live anyway, repeat the request with '{OverrideField}' giving the reason (it is audited).",
                OverrideField,
                new Dictionary<string, object?>
                {
                    ["failingGroups"] = floor.FailingGroups,
                    ["bpsnMean"] = audit?.MeanBpsnAuc,
                    ["minBpsnMean"] = floor.MinBpsnMean,
                    ["minGroupBpsn"] = floor.MinGroupBpsn,
                });
        var evidence = JsonSerializer.Serialize(new
        {
            floor = new { floor.MinBpsnMean, floor.MinGroupBpsn },
            bpsnMean = audit?.MeanBpsnAuc,
            failingGroups = floor.FailingGroups.Select(g => new { group = g, bpsn = audit!.Groups.First(x => x.Group == g).BpsnAuc }),
            summary = floor.Summary,
            templatesSha256 = FairnessTemplates.Sha256,
            artifactSha256 = info.ArtifactSha256,
        }, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        return await registry.SetStateAsync(category, version, state, actor, reason, ct, (change, _) =>
            change.Record(OverrideAction, ModelRegistry.SubjectType, ModelRegistry.SubjectId(category, version), fairnessOverride.Trim(), afterState: evidence));
    }
}
