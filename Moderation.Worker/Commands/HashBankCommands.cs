using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Audit;
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
        List(), CreateBank(), Import(), Export(), Retire(), Quarantine(), Release(),
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
            Console.WriteLine($"{"name",-32} {"algorithm",-12} {"category",-24} {"action",-12} {"entries",8} {"quarantined",11}  description");
            foreach (var b in all)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{b.Name,-32} {b.Algorithm,-12} {b.Category,-24} {b.Action,-12} {b.ActiveEntries,8} {b.QuarantinedEntries,11}  {b.Description}"));
            return 0;
        });
    }

    private static Command CreateBank()
    {
        var name = new Option<string>("--name") { Required = true, Description = "Lower-case letters, digits, '-' and '_'." };
        var category = new Option<string>("--category") { Required = true, Description = "The category a match scores, e.g. harm.sexual." };
        var action = new Option<string>("--action") { Required = true, Description = $"What a match asks for: {string.Join(", ", HashBanks.Actions)}." };
        var description = new Option<string?>("--description") { Description = "What the bank holds and where it comes from." };
        var algorithm = new Option<string>("--algorithm") { DefaultValueFactory = _ => HashAlgorithms.Default, Description = $"The hash algorithm of its entries: {string.Join(", ", HashAlgorithms.All)}." };
        var command = new Command("create", "Create a hash bank.") { name, category, action, description, algorithm };
        return WithBanks(command, async (parse, banks, ct) =>
        {
            var bank = await banks.CreateAsync(parse.GetValue(name)!, parse.GetValue(category)!, parse.GetValue(action)!, parse.GetValue(description),
                AuditActors.Cli(), ct, parse.GetValue(algorithm));
            Console.WriteLine($"created hash bank {bank.Name} ({bank.Algorithm}, {bank.Category}, {bank.Action})");
            return 0;
        });
    }

    private static Command Import()
    {
        var bank = BankOption();
        var input = new Option<FileInfo>("--input") { Required = true, Description = "One hash a line (for a vpdq bank: one video's frame,quality,hash,seconds lines), or CSV with a header: path,hash,quality (what hash writes), the export format, or a list's hash column with quality and metadata columns." };
        var source = new Option<string?>("--source") { Description = "Where the hashes come from, kept as each entry's source note (rows with a path add it)." };
        var command = new Command("import", "Add the hashes of a CSV to a bank, all or nothing; hashes the bank already holds are counted, not added twice.")
        {
            bank, input, source,
        };
        return WithBanks(command, async (parse, banks, ct) =>
        {
            var file = parse.GetValue(input)!;
            if (!file.Exists) throw new FileNotFoundException($"{file.FullName} does not exist.");
            var target = await banks.FindAsync(parse.GetValue(bank)!, ct) ?? throw HashBanks.NoBank(parse.GetValue(bank)!);
            IReadOnlyList<HashCsvRow> rows;
            using (var reader = new StreamReader(file.FullName, new UTF8Encoding(false, throwOnInvalidBytes: true)))
                rows = HashBankCsv.Read(reader, target.Algorithm, parse.GetValue(source), MaxImportRows);
            var result = await banks.ImportAsync(parse.GetValue(bank)!, rows, AuditActors.Cli(), ct);
            Console.WriteLine($"{result.Bank}: read {result.Rows} rows, added {result.Added}, already present {result.AlreadyPresent}");
            return 0;
        });
    }

    private static Command Export()
    {
        var bank = BankOption();
        var output = new Option<FileInfo>("--output") { Required = true, Description = "File to write: CSV id,algorithm,hash,quality,source,added_by,added_at,state,metadata, or with --plain one hash a line." };
        var retired = new Option<bool>("--include-retired") { Description = "Retired entries too (CSV only)." };
        var plain = new Option<bool>("--plain") { Description = "One hash a line, active entries only: what lists without metadata exchange." };
        var command = new Command("export", "Write a bank's active entries as CSV or as one hash a line.") { bank, output, retired, plain };
        return WithBanks(command, async (parse, banks, ct) =>
        {
            var target = await banks.FindAsync(parse.GetValue(bank)!, ct) ?? throw HashBanks.NoBank(parse.GetValue(bank)!);
            var entries = await banks.EntriesAsync(parse.GetValue(bank)!, parse.GetValue(retired) && !parse.GetValue(plain), ct);
            if (parse.GetValue(plain)) entries = entries.Where(e => e.State == "active").ToList();
            await using (var writer = new StreamWriter(parse.GetValue(output)!.FullName, false, new UTF8Encoding(false)))
                if (parse.GetValue(plain)) HashBankCsv.WritePlain(writer, entries);
                else HashBankCsv.Write(writer, target.Algorithm, entries);
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
            var retired = await banks.RetireEntryAsync(parse.GetValue(bank)!, parse.GetValue(entry)!, AuditActors.Cli(), parse.GetValue(reason), ct);
            Console.WriteLine($"retired entry {retired.Id} ({retired.Hash}) of {retired.Bank}");
            return 0;
        });
    }

    private static Command Quarantine()
    {
        var command = new Command("quarantine", "List the entries stopped because they matched a flood of uploads (release or retire each).");
        return WithBanks(command, async (_, banks, ct) =>
        {
            var entries = await banks.QuarantinedAsync(ct);
            if (entries.Count == 0) Console.WriteLine("no quarantined entries");
            foreach (var e in entries)
                Console.WriteLine($"{e.Bank} {e.Id} {e.Hash} quarantined {e.QuarantinedAt:u}: {e.QuarantineReason} (source: {e.Source})");
            return 0;
        });
    }

    private static Command Release()
    {
        var bank = BankOption();
        var entry = new Option<string>("--entry") { Required = true, Description = "The entry id (hashbank quarantine lists them)." };
        var reason = new Option<string>("--reason") { Required = true, Description = "Why it may match again; recorded in the audit trail." };
        var command = new Command("release", "Let a quarantined entry match again; its flood count starts from zero.") { bank, entry, reason };
        return WithBanks(command, async (parse, banks, ct) =>
        {
            var released = await banks.ReleaseEntryAsync(parse.GetValue(bank)!, parse.GetValue(entry)!, AuditActors.Cli(), parse.GetValue(reason), ct);
            Console.WriteLine($"released entry {released.Id} ({released.Hash}) of {released.Bank}");
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
            FileNotFoundException or DirectoryNotFoundException or DecoderFallbackException or IOException => $"error: {e.Message}",
            _ => null,
        });
}
