using System.Text.RegularExpressions;

namespace Moderation.Core.Scoring;

/// <summary>Checks what a scorer returned before anything is stored: a bad score must fail the batch, not route it.</summary>
public static partial class ScorerOutput
{
    [GeneratedRegex(@"^[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30}){0,2}$")]
    private static partial Regex CategoryName();

    public static bool IsValidCategory(string category) => CategoryName().IsMatch(category);

    /// <summary>Throws <see cref="InvalidScorerOutputException"/> naming the first problem.</summary>
    public static void Validate(string scorer, IReadOnlyList<UploadScores> output, IReadOnlySet<string> batchIds)
    {
        foreach (var upload in output)
        {
            if (!batchIds.Contains(upload.UploadId))
                throw new InvalidScorerOutputException(scorer, $"returned scores for upload {upload.UploadId}, which is not in the batch");
            var seen = new HashSet<(string, string)>();
            foreach (var score in upload.Scores)
            {
                if (!IsValidCategory(score.Category))
                    throw new InvalidScorerOutputException(scorer, $"category '{score.Category}' is not a dotted lower-case name");
                if (double.IsNaN(score.Score) || score.Score is < 0 or > 1)
                    throw new InvalidScorerOutputException(scorer, $"score {score.Score} for {score.Category} is not a probability in [0,1]");
                if (string.IsNullOrWhiteSpace(score.ModelVersion) || score.ModelVersion.Length > 128)
                    throw new InvalidScorerOutputException(scorer, $"model version for {score.Category} is empty or longer than 128 characters");
                if (!seen.Add((score.Category, score.ModelVersion)))
                    throw new InvalidScorerOutputException(scorer, $"scored {score.Category} with {score.ModelVersion} twice for upload {upload.UploadId}");
            }
            var codes = new HashSet<string>(StringComparer.Ordinal);
            foreach (var abstention in upload.Abstentions ?? [])
            {
                if (!IsValidCategory(abstention.Code))
                    throw new InvalidScorerOutputException(scorer, $"abstention code '{abstention.Code}' is not a dotted lower-case name");
                if (!codes.Add(abstention.Code))
                    throw new InvalidScorerOutputException(scorer, $"abstained with {abstention.Code} twice for upload {upload.UploadId}");
                if (string.IsNullOrWhiteSpace(abstention.Reason) || abstention.Reason.Length > 2000)
                    throw new InvalidScorerOutputException(scorer, $"abstention {abstention.Code} has an empty reason or one longer than 2000 characters");
                if (string.IsNullOrWhiteSpace(abstention.ModelVersion) || abstention.ModelVersion.Length > 128)
                    throw new InvalidScorerOutputException(scorer, $"abstention {abstention.Code} has an empty model version or one longer than 128 characters");
                if (double.IsNaN(abstention.Confidence) || abstention.Confidence is < 0 or > 1)
                    throw new InvalidScorerOutputException(scorer, $"abstention {abstention.Code} has confidence {abstention.Confidence}, not in [0,1]");
            }
            var vectors = new HashSet<(string, string, int?, int?)>();
            foreach (var embedding in upload.Embeddings ?? [])
            {
                try
                {
                    Similarity.UploadEmbeddings.Validate(embedding);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidScorerOutputException(scorer, $"returned a bad embedding for upload {upload.UploadId}: {e.Message}");
                }
                if (!vectors.Add((embedding.Kind, embedding.Model, embedding.MediaOrdinal, embedding.Frame)))
                    throw new InvalidScorerOutputException(scorer, $"returned two {embedding.Kind} embeddings of {embedding.Model} for the same media and frame of upload {upload.UploadId}");
            }
        }
    }
}

public sealed class InvalidScorerOutputException(string scorer, string problem)
    : Exception($"Scorer '{scorer}' {problem}.");
