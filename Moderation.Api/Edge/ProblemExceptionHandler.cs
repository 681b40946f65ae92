using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;

namespace Moderation.Api.Edge;

/// <summary>
/// The API's one mapping of refusals to RFC 7807 problem details (<c>application/problem+json</c>): a Core
/// <see cref="Refusal"/> by <see cref="RefusalProblems.For"/> (400 with <c>errors</c>, 404, 409, 403), and a request the
/// server cannot take as it is (<see cref="BadHttpRequestException"/>: 413 over the size limit, 415 wrong content type)
/// with its status and message. Endpoints throw; none writes a refusal of its own. Anything else is not handled here
/// (a 500 without details).
/// </summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (For(exception) is not { } problem) return false;
        context.Response.StatusCode = problem.Status!.Value;
        if (exception is Refusal refusal) RefusalProblems.Apply(context.Response, refusal);
        if (await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception }))
            return true;
        // A client whose Accept header rules out JSON still gets the body; the status alone would say less.
        await context.Response.WriteAsJsonAsync(problem, problem.GetType(), options: null, contentType: "application/problem+json", ct);
        return true;
    }

    /// <summary>The problem details for an exception this edge answers, or null.</summary>
    public static ProblemDetails? For(Exception exception) => exception switch
    {
        Refusal refusal => RefusalProblems.For(refusal),
        BadHttpRequestException bad => new ProblemDetails
        {
            Status = bad.StatusCode,
            Title = bad.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => "Request too large",
                StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
                var status => ReasonPhrases.GetReasonPhrase(status),
            },
            Detail = bad.Message,
        },
        _ => null,
    };
}
