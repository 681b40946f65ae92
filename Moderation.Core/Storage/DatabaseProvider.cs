namespace Moderation.Core.Storage;

/// <summary>The relational databases the workbench runs on. SQLite is the embedded default.</summary>
public enum DatabaseProvider
{
    Sqlite,
    Postgres,
    SqlServer,
}
