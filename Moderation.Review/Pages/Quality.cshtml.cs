using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Review;

namespace Moderation.Review.Pages;

/// <summary>Agreement between first decisions and blind second reviews (Cohen's kappa), with handling time.</summary>
public sealed class QualityModel(QualityStats stats) : PageModel
{
    public QualityReport Report { get; private set; } = null!;

    public async Task OnGetAsync(CancellationToken ct) => Report = await stats.ReportAsync(ct);
}
