using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Media;

namespace Moderation.Worker.Commands;

/// <summary>
/// <c>hashbank list|create|import|export|retire</c>: the hash banks in the configured database. Changes are audited
/// with <c>cli:{user}@{machine}</c> as the actor. Bad input (an unknown bank, a bad CSV row) is a message naming
/// it and exit code 2, and nothing is half-imported.
/// </summary>
internal static class HashBankCommands
{
    /// <summary>Rows one import may carry from the command line (about 100 MB of CSV).</summary>
    public const int MaxImportRows = 1_000_000;

    public static Command Create() => new("hashbank", "Hash banks of known violating media: list, create, import and export CSV, retire an entry.")
    {
        List(), CreateBank(), Import(), Export(), Retire(),
    };

    private static Command List()
    {
        var command = new Command("list", "List the hash banks with their category, action and number of active entries.");
        return WithBanks(command, async (_, banks, ct) =>
        {
            var all = await banks.ListAsync(ct);
            if (all.Count == 0)
            {
                Console.WriteLine("no hash banks");
                return 0;
            }
            Console.WriteLine($"{"name",-32} {"category",-24} {"action",-12} {"entries",8}  description");
            foreach (var b in all)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{b.Name,-32} {b.Category,-24} {b.Action,-12} {b.ActiveEntries,8}  {b.Description}"));
            return 0;
        });
    }

    private static Command CreateBank()
    {
        var name = new Option<string>("--name") { Required = true, Description = "Lower-case letters, digits, '-' and '_'." };
        var category = new Option<string>("--category") { Required = true, Description = "The category a match scores, e.g. harm.sexual." };
        var action = new Option<string>("--action") { Required = true, Description = $"What a match asks for: {string.Join(", ", HashBanks.Actions)}." };
        var description = new Option<string?>("--description") { Description = "What the bank holds and where it comes from." };
        var command = new Command("create", "Create a hash bank.") { name, category, action, description };
        return WithBanks(command, async (parse, banks, ct) =>
        {
            var bank = await banks.CreateAsync(parse.GetValue(name)!, parse.GetValue(category)!, parse.GetValue(action)!, parse.GetValue(description),
                ModelCommands.Actor, ct);
            Console.WriteLine($"created hash bank {bank.Name} ({bank.Category}, {bank.Action})");
            return 0;
        });
    }

    private static Command Import()
    {
        var bank = BankOption();
        var input = new Option<FileInfo>("--input") { Required = true, Description = "CSV with a header: path,hash,quality (what hash writes) or id,hash,quality,source,added_by,added_at (what export writes)." };
        var source = new Option<string?>("--source") { Description = "Where the hashes come from, kept as each entry's source note (rows with a path add it)." };
        var command = new Command("import", "Add the hashes of a CSV to a bank, all or nothing; hashes the bank already holds are counted, not added twice.")
        {
            bank, input, source,
        };
        return WithBanks(command, async (parse, banks, ct) =>
        {
            var file = parse.GetValue(input)!;
            if (!file.Exists) throw new FileNotFoundException($"{file.FullName} does not exist.");
            IReadOnlyList<HashCsvRow> rows;
            using (var reader = new StreamReader(file.FullName, new UTF8Encoding(false, throwOnInvalidBytes: true)))
                rows = HashBankCsv.Read(reader, parse.GetValue(source), MaxImportRows);
            var result = await banks.ImportAsync(parse.GetValue(bank)!, rows, ModelCommands.Actor, ct);
            Console.WriteLine($"{result.Bank}: read {result.Rows} rows, added {result.Added}, already present {result.AlreadyPresent}");
            return 0;
        });
    }

    private static Command Export()
    {
        var bank = BankOption();
        var output = new Option<FileInfo>("--output") { Required = true, Description = "CSV to write: id,hash,quality,source,added_by,added_at." };
        var retired = new Option<bool>("--include-retired") { Description = "Retired entries too." };
        var command = new Command("export", "Write a bank's active entries as CSV.") { bank, output, retired };
        return WithBanks(command, async (parse, banks, ct) =>
        {
            var entries = await banks.EntriesAsync(parse.GetValue(bank)!, parse.GetValue(retired), ct);
            await using (var writer = new StreamWriter(parse.GetValue(output)!.FullName, false, new UTF8Encoding(false)))
                HashBankCsv.Write(writer, entries);
            Console.WriteLine($"wrote {entries.Count} entries of {parse.GetValue(bank)} to {parse.GetValue(output)!.FullName}");
            return 0;
        });
    }

    private static Command Retire()
    {
        var bank = BankOption();
        var entry = new Option<string>("--entry") { Required = true, Description = "The entry id (export lists them)." };
        var reason = new Option<string>("--reason") { Required = true, Description = "Why it stops matching; recorded in the audit trail." };
        var command = new Command("retire", "Retire one entry: it stops matching and stays in the bank for the record.") { bank, entry, reason };
        return WithBanks(command, async (parse, banks, ct) =>
        {
            var retired = await banks.RetireEntryAsync(parse.GetValue(bank)!, parse.GetValue(entry)!, ModelCommands.Actor, parse.GetValue(reason), ct);
            Console.WriteLine($"retired entry {retired.Id} ({retired.Hash}) of {retired.Bank}");
            return 0;
        });
    }

    private static Option<string> BankOption() => new("--bank") { Required = true, Description = "The bank's name (hashbank list shows them)." };

    /// <summary>Runs <paramref name="action"/> with the hash banks of the configured database (configuration as --Key=Value pairs).</summary>
    private static Command WithBanks(Command command, Func<ParseResult, HashBanks, CancellationToken, Task<int>> action) =>
        WorkerHost.WithService(command, action, e => e switch
        {
            HashCsvException csv => string.Join(Environment.NewLine,
                new[] { $"error: {csv.Total} row(s) cannot be imported, so nothing was:" }
                    .Concat(csv.Errors.Select(error => $"  {error}"))
                    .Concat(csv.Total > csv.Errors.Count ? [$"  ... and {csv.Total - csv.Errors.Count} more"] : [])),
            HashBankException or FileNotFoundException or DirectoryNotFoundException or DecoderFallbackException or IOException => $"error: {e.Message}",
            _ => null,
        });
}
