using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Uploads;

/// <summary>The transitions of <c>uploads.status</c> that <see cref="UploadLifecycle"/> allows, and only those.</summary>
public sealed class UploadLifecycleTests
{
    private static readonly string[] Statuses =
        [UploadStatus.Queued, UploadStatus.Scored, UploadStatus.InReview, UploadStatus.Actioned, UploadStatus.Allowed, UploadStatus.Failed];

    [Fact]
    public void The_lifecycle_allows_exactly_routing_failure_decisions_overturns_and_requeues()
    {
        var allowed = Statuses.SelectMany(from => Statuses.Where(to => UploadLifecycle.Allows(from, to)).Select(to => $"{from}->{to}")).ToList();

        allowed.Should().BeEquivalentTo(
            "queued->scored", "queued->in_review", "queued->actioned", "queued->allowed", "queued->failed",
            "in_review->allowed", "in_review->actioned",
            "actioned->allowed",
            "actioned->in_review", // an automated action re-queued by reports
            "allowed->in_review",
            "failed->queued");
        UploadLifecycle.From(UploadStatus.Failed).Should().Equal([UploadStatus.Queued], "a failed upload only goes back to the queue, when its job is requeued");
        UploadLifecycle.From(UploadStatus.Scored).Should().BeEmpty("observe mode acts on nothing, reviewers included");
    }
}

/// <summary>The one writer of <c>uploads.status</c> against a real database, once per provider.</summary>
public abstract class UploadLifecycleContract(DatabaseProvider provider)
{
    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, caption, hashtags, comments, status, received_at_ms, enqueued_at_ms, updated_at_ms)
        VALUES (@Id, @ExternalId, 'c', '[]', '[]', @Status, 1, 1, 1)
        """);

    private static readonly DialectSql SelectStatus = DialectSql.Portable("SELECT status FROM uploads WHERE id = @Id");

    private async Task<(TestDatabase Test, string Id)> UploadAsync(string status)
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var id = Guid.CreateVersion7().ToString();
        await using var connection = await test.Database.OpenAsync();
        await connection.ExecuteAsync(test.Database.Sql(InsertUpload), new { Id = id, ExternalId = "ext-" + id, Status = status });
        return (test, id);
    }

    private static async Task<string> StatusAsync(ModerationDatabase database, string id)
    {
        await using var connection = await database.OpenAsync();
        return (await connection.ExecuteScalarAsync<string>(database.Sql(SelectStatus), new { Id = id }))!;
    }

    [Fact]
    public async Task An_illegal_transition_is_refused_before_anything_is_written()
    {
        var (test, id) = await UploadAsync(UploadStatus.Allowed);
        await using var _ = test;
        var database = test.Database;

        var act = () => database.InTransactionAsync((c, t) =>
            UploadLifecycle.MoveAsync(database, c, t, id, UploadStatus.Allowed, UploadStatus.Actioned, "no such path", 2, CancellationToken.None));
        (await act.Should().ThrowAsync<IllegalStatusTransitionException>()).Which.To.Should().Be(UploadStatus.Actioned);
        var route = () => database.InTransactionAsync((c, t) =>
            UploadLifecycle.RouteAsync(database, c, t, id, UploadStatus.Failed, "routing never fails an upload", "p1", 2, CancellationToken.None));
        await route.Should().ThrowAsync<IllegalStatusTransitionException>();

        (await StatusAsync(database, id)).Should().Be(UploadStatus.Allowed);
    }

    [Fact]
    public async Task A_move_from_a_status_the_upload_no_longer_has_changes_nothing()
    {
        var (test, id) = await UploadAsync(UploadStatus.Allowed);
        await using var _ = test;
        var database = test.Database;

        (await database.InTransactionAsync((c, t) => UploadLifecycle.MoveAsync(database, c, t, id, UploadStatus.InReview, UploadStatus.Actioned,
            "a decision on an item that left review", 2, CancellationToken.None))).Should().BeFalse();
        (await database.InTransactionAsync((c, t) => UploadLifecycle.RouteAsync(database, c, t, id, UploadStatus.InReview,
            "a retried job", "p1", 2, CancellationToken.None))).Should().BeFalse("only a queued upload is routed");
        (await StatusAsync(database, id)).Should().Be(UploadStatus.Allowed);

        (await database.InTransactionAsync((c, t) => UploadLifecycle.MoveAsync(database, c, t, id, UploadStatus.Allowed, UploadStatus.InReview,
            "re-queued after 5 user reports", 2, CancellationToken.None))).Should().BeTrue();
        (await StatusAsync(database, id)).Should().Be(UploadStatus.InReview);
    }
}

public sealed class SqliteUploadLifecycleContract() : UploadLifecycleContract(DatabaseProvider.Sqlite);
public sealed class PostgresUploadLifecycleContract() : UploadLifecycleContract(DatabaseProvider.Postgres);
public sealed class SqlServerUploadLifecycleContract() : UploadLifecycleContract(DatabaseProvider.SqlServer);
