using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Moderation.Core.Refusals;

namespace Moderation.Review.Edge;

/// <summary>
/// The one place a Core <see cref="Refusal"/> becomes HTTP: its status, and its RFC 7807 problem details. The API's
/// exception handler writes these bodies; the workbench's pages show the same refusal as a message with the same status
/// (<see cref="RefusalPageFilter"/>). It lives here, the lowest web project, because both the API host and the
/// workbench use it and Core knows no HTTP.
/// </summary>
public static class RefusalProblems
{
    public const string InvalidTitle = "The request is not valid";

    /// <summary>invalid 400, not found 404, conflict 409, forbidden 403, too many 429, unavailable 503.</summary>
    public static int StatusOf(RefusalKind kind) => kind switch
    {
        RefusalKind.Invalid => StatusCodes.Status400BadRequest,
        RefusalKind.NotFound => StatusCodes.Status404NotFound,
        RefusalKind.Conflict => StatusCodes.Status409Conflict,
        RefusalKind.Forbidden => StatusCodes.Status403Forbidden,
        RefusalKind.TooMany => StatusCodes.Status429TooManyRequests,
        RefusalKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static string TitleOf(RefusalKind kind) => kind switch
    {
        RefusalKind.Invalid => InvalidTitle,
        RefusalKind.NotFound => "Not found",
        RefusalKind.Conflict => "Conflict",
        RefusalKind.Forbidden => "Forbidden",
        RefusalKind.TooMany => "Too many requests",
        RefusalKind.Unavailable => "Service unavailable",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// The problem details of a refusal: status and title by kind; <c>detail</c> the message (for one invalid field,
    /// "field: reason"); <c>errors</c> (field → reasons) for invalid input; <c>field</c> when one input is at fault; and
    /// the refusal's own details (e.g. <c>existingId</c>) as further members.
    /// </summary>
    public static ProblemDetails For(Refusal refusal)
    {
        var status = StatusOf(refusal.Kind);
        ProblemDetails problem = refusal.Kind == RefusalKind.Invalid
            ? new HttpValidationProblemDetails(refusal.Errors.ToDictionary(e => e.Key, e => e.Value))
            : new ProblemDetails();
        problem.Status = status;
        problem.Title = TitleOf(refusal.Kind);
        problem.Detail = refusal.Kind == RefusalKind.Invalid && refusal.Field is { } field ? $"{field}: {refusal.Message}" : refusal.Message;
        if (refusal.Field is not null) problem.Extensions["field"] = refusal.Field;
        foreach (var (key, value) in refusal.Details) problem.Extensions[key] = value;
        if (RetryAfterSeconds(refusal) is { } seconds) problem.Extensions["retryAfterSeconds"] = seconds;
        return problem;
    }

    /// <summary>Whole seconds to wait (at least 1) for a refusal that says when to retry; the <c>Retry-After</c> header carries it too.</summary>
    public static int? RetryAfterSeconds(Refusal refusal) =>
        refusal.RetryAfter is { } wait ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : null;

    /// <summary>Sets the status of a refusal on a response, and <c>Retry-After</c> where the refusal says when to retry.</summary>
    public static void Apply(HttpResponse response, Refusal refusal)
    {
        response.StatusCode = StatusOf(refusal.Kind);
        if (RetryAfterSeconds(refusal) is { } seconds) response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>A workbench page that shows a refusal on itself (the form and a message) rather than as a bare error.</summary>
public interface IShowsRefusals
{
    /// <summary>The page to answer with; the status is already set on the response.</summary>
    Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct);
}

/// <summary>
/// The workbench's one mapping of refusals: a page handler that throws a <see cref="Refusal"/> answers with the
/// refusal's status and, where the page implements <see cref="IShowsRefusals"/>, the page with the message; otherwise
/// the refusal travels on to the host's exception handler (problem details).
/// </summary>
public sealed class RefusalPageFilter : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var executed = await next();
        if (executed.Exception is not Refusal refusal || executed.ExceptionHandled || context.HandlerInstance is not IShowsRefusals page) return;
        RefusalProblems.Apply(context.HttpContext.Response, refusal);
        executed.Result = await page.ShowRefusalAsync(refusal, context.HttpContext.RequestAborted);
        executed.ExceptionHandled = true;
    }
}
