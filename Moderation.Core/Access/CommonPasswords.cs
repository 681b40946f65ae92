using System.Collections.Frozen;

namespace Moderation.Core.Access;

/// <summary>
/// The passwords a workbench account may not have: the 1,000 most common passwords of the "10 million password list"
/// as published in SecLists (MIT; the embedded <c>Access/Data/common-passwords.txt</c> names its source), compared
/// without regard to case, also when only digits, symbols or spaces were put around one (<c>password1234</c>,
/// <c>!!qwertyuiop!!</c>) or when it is one of them repeated (<c>monkeymonkey</c>): with the 12-character minimum,
/// those are the forms in which a common password comes back.
/// </summary>
public static class CommonPasswords
{
    private static readonly Lazy<FrozenSet<string>> List = new(Load);

    /// <summary>How many passwords the list holds.</summary>
    public static int Count => List.Value.Count;

    public static bool IsCommon(string password)
    {
        var list = List.Value;
        var whole = password.Trim().ToLowerInvariant();
        if (list.Contains(whole)) return true;
        var core = whole.Trim().TrimStart(NotLetters).TrimEnd(NotLetters);
        foreach (var candidate in new[] { whole, core })
        {
            if (candidate.Length == 0) continue;
            if (list.Contains(candidate)) return true;
            // A listed password repeated: "monkeymonkey", "qwertyqwerty".
            for (var unit = 1; unit <= candidate.Length / 2; unit++)
            {
                if (candidate.Length % unit != 0 || !list.Contains(candidate[..unit])) continue;
                if (string.Concat(Enumerable.Repeat(candidate[..unit], candidate.Length / unit)) == candidate) return true;
            }
        }
        return false;
    }

    private static readonly char[] NotLetters = [.. Enumerable.Range(32, 95).Select(i => (char)i).Where(c => !char.IsAsciiLetter(c))];

    private static FrozenSet<string> Load()
    {
        using var stream = typeof(CommonPasswords).Assembly.GetManifestResourceStream("access/common-passwords.txt")
            ?? throw new InvalidOperationException("The embedded list of common passwords is missing.");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            set.Add(line.Trim().ToLowerInvariant());
        }
        return set.ToFrozenSet(StringComparer.Ordinal);
    }
}
