using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Core.Refusals;

namespace Moderation.Tests.Access;

/// <summary>The embedded list of common passwords and the forms in which its passwords are refused.</summary>
public sealed class CommonPasswordsTests
{
    [Fact]
    public void The_list_is_embedded_and_whole()
    {
        // 1,001 lines in the source file; "password", "Password" and "PASSWORD" are one entry without case.
        CommonPasswords.Count.Should().Be(999);
    }

    [Theory]
    [InlineData("qwertyuiop", true)]
    [InlineData("1234567890", true)]
    [InlineData("Password1234", true)]
    [InlineData("!!QWERTYUIOP!!", true)]
    [InlineData("2024 sunshine!", true)]
    [InlineData("monkeymonkey", true)]
    [InlineData("ILOVEYOUILOVEYOU", true)]
    [InlineData("1qaz2wsx3edc", false)]
    [InlineData("correct horse battery staple", false)]
    [InlineData("sunshine monkey 42", false)]
    public void Common_passwords_are_found_with_digits_or_symbols_around_them_or_repeated(string password, bool common) =>
        CommonPasswords.IsCommon(password).Should().Be(common, password);

    [Fact]
    public void A_long_common_password_is_refused_naming_the_field()
    {
        var act = () => WorkbenchUsers.CheckPassword("Password1234!");
        act.Should().Throw<Refusal>().Which.Field.Should().Be("password");
        WorkbenchUsers.CheckPassword("correct horse battery staple");
    }
}
