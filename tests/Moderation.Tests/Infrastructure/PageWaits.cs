using Microsoft.Playwright;

namespace Moderation.Tests.Infrastructure;

/// <summary>How the browser tests wait for the page a click or a key leads to.</summary>
public static class PageWaits
{
    private static readonly PageWaitForURLOptions Parsed = new() { WaitUntil = WaitUntilState.DOMContentLoaded };

    /// <summary>
    /// Until the page at a matching address has been parsed (DOMContentLoaded), not until its load event. On a loaded
    /// two-core CI machine, Playwright's wait for "load" after a sign-out once timed out after 120 s while the page
    /// was there and the network idle (its log: only "networkidle" fired), and a wait for the item page after
    /// "Claim this item" timed out once too. A parsed page has every element the tests read and has run its one
    /// script (<c>review.js</c>, deferred); locators wait for anything later on their own.
    /// </summary>
    public static Task WaitForPageAsync(this IPage page, string url) => page.WaitForURLAsync(url, Parsed);

    /// <inheritdoc cref="WaitForPageAsync(IPage, string)"/>
    public static Task WaitForPageAsync(this IPage page, Func<string, bool> url) => page.WaitForURLAsync(url, Parsed);
}
