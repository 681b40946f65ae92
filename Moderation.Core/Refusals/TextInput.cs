namespace Moderation.Core.Refusals;

/// <summary>
/// Checks every store makes of text that comes from a client, the same on every database: a NUL character is refused
/// (PostgreSQL cannot store it in text and fails the statement; SQLite and SQL Server would keep it), so the answer is a
/// 400 naming the field everywhere, never a 500 on one database and a stored NUL on another.
/// </summary>
public static class TextInput
{
    public const string NulReason = "contains a NUL character";

    /// <summary>Refuses <paramref name="value"/> as <paramref name="field"/> if it holds a NUL; returns it otherwise.</summary>
    public static string? NoNul(string? value, string field) =>
        value is not null && value.Contains('\0') ? throw Refusal.Invalid(field, NulReason) : value;
}
