using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;

namespace Moderation.Review.Security;

/// <summary>
/// The device cookie (<c>moderation-review-device</c>): set by a successful password sign-in, it names the account and
/// a random device id, protected by ASP.NET Core data protection (so it cannot be forged or moved to another name).
/// Sign-in attempts from a browser holding it for the name typed are throttled per device, not per account or address,
/// so nobody without it can delay that browser's sign-ins (<see cref="Moderation.Core.Access.SignInThrottle"/>).
/// </summary>
public sealed class SignInDevices(IDataProtectionProvider protection)
{
    public const string CookieName = "moderation-review-device";
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(180);
    private readonly IDataProtector protector = protection.CreateProtector("Moderation.Review.SignInDevice.v1");

    /// <summary>The device id in the request's device cookie when it was issued for <paramref name="userName"/>; otherwise null.</summary>
    public string? Read(HttpRequest request, string userName)
    {
        if (!request.Cookies.TryGetValue(CookieName, out var value) || string.IsNullOrEmpty(value) || value.Length > 1024) return null;
        try
        {
            var parts = protector.Unprotect(value).Split('\n');
            return parts.Length == 2 && string.Equals(parts[0], userName.Trim(), StringComparison.OrdinalIgnoreCase) ? parts[1] : null;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    public void Issue(HttpRequest request, HttpResponse response, string userName)
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        response.Cookies.Append(CookieName, protector.Protect(userName.Trim().ToLowerInvariant() + "\n" + id), new CookieOptions
        {
            Path = ReviewModule.PathBase,
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = request.IsHttps,
            IsEssential = true,
            MaxAge = Lifetime,
        });
    }
}
