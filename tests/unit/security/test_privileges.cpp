#include "security/privileges.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

namespace cgihost {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A small passwd/group database: root, www-data, nobody and, when asked, cgihost-cgi.
class FakeAccounts : public AccountDatabase {
  public:
    explicit FakeAccounts(bool with_cgihost_cgi = false, bool with_www_data = true) {
        add_user("root", 0, 0);
        if (with_www_data) add_user("www-data", 33, 33);
        add_user("nobody", 65534, 65534);
        if (with_cgihost_cgi) add_user("cgihost-cgi", 998, 998);
        groups_ = {
            {"root", 0}, {"www-data", 33}, {"nogroup", 65534}, {"cgihost-cgi", 998}, {"adm", 4}};
        extra_groups_["www-data"] = {4};
    }
    void add_user(const std::string& name, uid_t uid, gid_t gid) {
        users_.push_back({name, uid, gid});
    }
    std::optional<UserEntry> user_by_name(const std::string& name) const override {
        for (const auto& user : users_)
            if (user.name == name) return user;
        return std::nullopt;
    }
    std::optional<UserEntry> user_by_id(uid_t uid) const override {
        for (const auto& user : users_)
            if (user.uid == uid) return user;
        return std::nullopt;
    }
    std::optional<gid_t> group_by_name(const std::string& name) const override {
        auto found = groups_.find(name);
        if (found == groups_.end()) return std::nullopt;
        return found->second;
    }
    std::vector<gid_t> groups_of(const std::string& name, gid_t primary) const override {
        std::vector<gid_t> groups{primary};
        auto extra = extra_groups_.find(name);
        if (extra != extra_groups_.end())
            groups.insert(groups.end(), extra->second.begin(), extra->second.end());
        return groups;
    }

  private:
    std::vector<UserEntry> users_;
    std::map<std::string, gid_t> groups_;
    std::map<std::string, std::vector<gid_t>> extra_groups_;
};

PrivilegeOptions options(std::string user = "", std::string group = "", std::string cgi_user = "",
                         std::string cgi_group = "") {
    return PrivilegeOptions{std::move(user), std::move(group), std::move(cgi_user),
                            std::move(cgi_group)};
}

PrivilegePlan plan_ok(const PrivilegeOptions& options, uid_t euid, const AccountDatabase& db) {
    auto outcome = plan_privileges(options, euid, euid == 0 ? 0 : 1000, db);
    if (auto* error = std::get_if<std::string>(&outcome)) {
        ADD_FAILURE() << "unexpected error: " << *error;
        return {};
    }
    return std::get<PrivilegePlan>(outcome);
}

std::string plan_error(const PrivilegeOptions& options, uid_t euid, const AccountDatabase& db) {
    auto outcome = plan_privileges(options, euid, euid == 0 ? 0 : 1000, db);
    if (auto* error = std::get_if<std::string>(&outcome)) return *error;
    ADD_FAILURE() << "expected an error";
    return {};
}

// ---- parse_account_spec --------------------------------------------------------------------

TEST(ParseAccountSpec, TakesDigitsAsAnIdAndAnythingElsePortableAsAName) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(parse_account_spec("")));
    auto numeric = std::get<AccountSpec>(parse_account_spec("33"));
    EXPECT_TRUE(numeric.numeric());
    EXPECT_EQ(*numeric.id, 33u);
    auto zero = std::get<AccountSpec>(parse_account_spec("0"));
    EXPECT_EQ(*zero.id, 0u);
    auto name = std::get<AccountSpec>(parse_account_spec("www-data"));
    EXPECT_FALSE(name.numeric());
    EXPECT_EQ(name.name, "www-data");
    EXPECT_EQ(std::get<AccountSpec>(parse_account_spec("user_1.x")).name, "user_1.x");
    EXPECT_EQ(std::get<AccountSpec>(parse_account_spec("1x")).name, "1x");
}

TEST(ParseAccountSpec, RefusesWhatNoAccountCanBeNamed) {
    for (const char* text : {"a b", "-x", "x:y", "x/y", "4294967295", "99999999999",
                             "a-name-that-is-longer-than-32-chars"}) {
        SCOPED_TRACE(text);
        EXPECT_TRUE(std::holds_alternative<std::string>(parse_account_spec(text)));
    }
}

// ---- plan_privileges as root ---------------------------------------------------------------

TEST(PlanPrivileges, AsRootWithoutOptionsServesAsWwwDataAndRunsScriptsAsNobody) {
    FakeAccounts accounts;
    auto plan = plan_ok({}, 0, accounts);
    EXPECT_TRUE(plan.drop);
    EXPECT_TRUE(plan.switch_scripts);
    EXPECT_EQ(plan.server.name, "www-data");
    EXPECT_EQ(plan.server.uid, 33u);
    EXPECT_EQ(plan.server.gid, 33u);
    EXPECT_THAT(plan.server.groups, ElementsAre(33u, 4u));
    EXPECT_EQ(plan.scripts.name, "nobody");
    EXPECT_EQ(plan.scripts.uid, 65534u);
    EXPECT_THAT(plan.scripts.groups, ElementsAre(65534u));
    ASSERT_EQ(plan.notes.size(), 2u);
    EXPECT_THAT(plan.notes[0], HasSubstr("without --user: the server runs as www-data"));
    EXPECT_THAT(plan.notes[1], HasSubstr("scripts run as nobody (uid 65534"));
}

TEST(PlanPrivileges, PrefersTheDedicatedScriptUserWhenItExists) {
    FakeAccounts accounts(true);
    EXPECT_EQ(plan_ok({}, 0, accounts).scripts.name, "cgihost-cgi");
}

TEST(PlanPrivileges, FallsBackToNobodyForTheServerWithoutWwwData) {
    FakeAccounts accounts(true, false);
    auto plan = plan_ok({}, 0, accounts);
    EXPECT_EQ(plan.server.name, "nobody");
    EXPECT_EQ(plan.scripts.name, "cgihost-cgi");
}

TEST(PlanPrivileges, NeverPicksTheServersUserAsTheScriptsDefault) {
    FakeAccounts accounts;  // no cgihost-cgi: nobody is the only default left
    EXPECT_THAT(plan_error(options("nobody"), 0, accounts),
                HasSubstr("--cgi-user: no default user (cgihost-cgi, nobody)"));
    FakeAccounts with_dedicated(true);
    EXPECT_EQ(plan_ok(options("nobody"), 0, with_dedicated).scripts.name, "cgihost-cgi");
}

TEST(PlanPrivileges, TakesUsersAndGroupsByNameOrId) {
    FakeAccounts accounts;
    auto plan = plan_ok(options("65534", "adm", "www-data", "998"), 0, accounts);
    EXPECT_EQ(plan.server.name, "nobody");
    EXPECT_EQ(plan.server.gid, 4u);
    EXPECT_EQ(plan.scripts.uid, 33u);
    EXPECT_EQ(plan.scripts.gid, 998u);
    EXPECT_TRUE(plan.notes.size() == 1u) << "no 'without --user' note when it is given";
}

TEST(PlanPrivileges, AcceptsANumericUserWithoutPasswdEntryOnlyWithItsGroup) {
    FakeAccounts accounts;
    EXPECT_THAT(plan_error(options("5000"), 0, accounts),
                HasSubstr("uid 5000 has no passwd entry; give its group with --group"));
    auto plan = plan_ok(options("5000", "5000"), 0, accounts);
    EXPECT_EQ(plan.server.uid, 5000u);
    EXPECT_EQ(plan.server.gid, 5000u);
    EXPECT_THAT(plan.server.groups, ElementsAre(5000u));
}

TEST(PlanPrivileges, RefusesRootByNameOrIdForEitherUser) {
    FakeAccounts accounts;
    EXPECT_THAT(plan_error(options("root"), 0, accounts),
                HasSubstr("--user: cgihost refuses to run as root"));
    EXPECT_THAT(plan_error(options("0"), 0, accounts), HasSubstr("refuses to run as root"));
    EXPECT_THAT(plan_error(options("", "", "root"), 0, accounts),
                HasSubstr("--cgi-user: cgihost refuses to run as root"));
    EXPECT_THAT(plan_error(options("", "root"), 0, accounts), HasSubstr("group root (gid 0)"));
    EXPECT_THAT(plan_error(options("", "", "", "0"), 0, accounts), HasSubstr("--cgi-group"));
}

TEST(PlanPrivileges, RefusesScriptsThatWouldShareTheServersUserOrGroup) {
    FakeAccounts accounts;
    EXPECT_THAT(plan_error(options("nobody", "", "nobody"), 0, accounts),
                HasSubstr("is the server's own user"));
    EXPECT_THAT(plan_error(options("", "", "", "www-data"), 0, accounts),
                HasSubstr("must not share the server's group"));
}

TEST(PlanPrivileges, NamesTheUnknownUserOrGroupAndTheMalformedOption) {
    FakeAccounts accounts;
    EXPECT_EQ(plan_error(options("ghost"), 0, accounts), "--user: no such user 'ghost'");
    EXPECT_EQ(plan_error(options("", "", "", "ghosts"), 0, accounts),
              "--cgi-group: no such group 'ghosts'");
    EXPECT_THAT(plan_error(options("", "", "a b"), 0, accounts), HasSubstr("--cgi-user: 'a b'"));
}

// ---- plan_privileges as an ordinary user ---------------------------------------------------

TEST(PlanPrivileges, AsAnOrdinaryUserRunsScriptsAsItselfAndSaysSo) {
    FakeAccounts accounts;
    accounts.add_user("alice", 1000, 1000);
    auto plan = plan_ok({}, 1000, accounts);
    EXPECT_FALSE(plan.drop);
    EXPECT_FALSE(plan.switch_scripts);
    EXPECT_EQ(plan.server.uid, 1000u);
    EXPECT_EQ(plan.scripts.uid, 1000u);
    ASSERT_EQ(plan.notes.size(), 1u);
    EXPECT_EQ(plan.notes[0],
              "running as alice (uid 1000, gid 1000), not root: scripts run as "
              "the same user");
}

TEST(PlanPrivileges, AsAnOrdinaryUserAcceptsOnlyOptionsNamingItself) {
    FakeAccounts accounts;
    accounts.add_user("alice", 1000, 1000);
    EXPECT_FALSE(plan_ok(options("alice", "1000", "1000"), 1000, accounts).switch_scripts);
    EXPECT_THAT(plan_error(options("www-data"), 1000, accounts),
                HasSubstr("--user: only root can change users"));
    EXPECT_THAT(plan_error(options("", "", "nobody"), 1000, accounts),
                HasSubstr("--cgi-user: only root can change users"));
    EXPECT_THAT(plan_error(options("", "", "", "adm"), 1000, accounts),
                HasSubstr("--cgi-group: only root can change groups"));
}

// ---- access_allows -------------------------------------------------------------------------

struct stat file_with(uid_t owner, gid_t group, mode_t mode) {
    struct stat st {};
    st.st_uid = owner;
    st.st_gid = group;
    st.st_mode = S_IFDIR | mode;
    return st;
}

TEST(AccessAllows, UsesTheOwnerThenTheGroupThenTheOtherBits) {
    const Identity www{"www-data", 33, 33, {33, 4}};
    EXPECT_FALSE(access_allows(file_with(0, 0, 0700), www, X_OK));
    EXPECT_TRUE(access_allows(file_with(0, 0, 0701), www, X_OK));
    EXPECT_FALSE(access_allows(file_with(0, 0, 0701), www, R_OK | X_OK));
    EXPECT_TRUE(access_allows(file_with(33, 0, 0500), www, R_OK | X_OK));
    // The owner's bits decide for the owner, even when "other" would allow more.
    EXPECT_FALSE(access_allows(file_with(33, 0, 0077), www, R_OK));
    EXPECT_TRUE(access_allows(file_with(0, 4, 0750), www, R_OK | X_OK));  // supplementary adm
    EXPECT_FALSE(access_allows(file_with(0, 4, 0705), www, R_OK));
    EXPECT_TRUE(access_allows(file_with(0, 0, 0757), www, W_OK));
}

}  // namespace
}  // namespace cgihost
