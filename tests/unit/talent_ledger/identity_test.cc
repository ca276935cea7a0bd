// Identity across systems with tricky fixtures: case, white space and Unicode in emails (composed
// and decomposed accents), a changed email, two people sharing a name, an employee number per
// employer, a raw national id under a hashed rule, and ambiguous or conflicting matches that go to
// review rather than being linked.
#include "identity.h"

#include <gtest/gtest.h>

#include "apply.h"
#include "ledger_fixtures.h"
#include "sqlite_store.h"
#include "test_support.h"

namespace simpang::plugins::talent_ledger {
namespace {

namespace tv1 = simpang::talent::v1;
using testing::make_event;
using testing::person;

TEST(NormaliseEmail, FoldsCaseTrimsAndComposes) {
  EXPECT_EQ(normalise_email("  Siti.Lee@Example.MY \t"), "siti.lee@example.my");
  // U+00A0 (no-break space) around it, as pasted from a spreadsheet.
  EXPECT_EQ(normalise_email("\xC2\xA0siti@example.my\xC2\xA0"), "siti@example.my");
  // "JOSÉ" precomposed (U+00C9) and decomposed (E + U+0301) are the same address.
  EXPECT_EQ(normalise_email("JOS\xC3\x89@example.my"), normalise_email("jose\xCC\x81@example.my"));
  EXPECT_EQ(normalise_email("JOS\xC3\x89@example.my"), "jos\xC3\xA9@example.my");
  // Greek and Cyrillic capitals fold too.
  EXPECT_EQ(normalise_email("\xCE\x91@x.gr"), "\xCE\xB1@x.gr");
  EXPECT_EQ(normalise_email("\xD0\x90@x.ru"), "\xD0\xB0@x.ru");
  // Not usable as keys.
  EXPECT_EQ(normalise_email("no-at-sign"), std::nullopt);
  EXPECT_EQ(normalise_email("two@@example.my"), std::nullopt);
  EXPECT_EQ(normalise_email("@example.my"), std::nullopt);
  EXPECT_EQ(normalise_email("a b@example.my"), std::nullopt);
  EXPECT_EQ(normalise_email("bad\xC3@example.my"), std::nullopt);       // truncated UTF-8
  EXPECT_EQ(normalise_email("over\xC0\xAF@example.my"), std::nullopt);  // overlong '/'
}

TEST(IdentityKeys, ExternalIdsCarryTheirSystemAndHashedRulesRefuseRawValues) {
  std::vector<IdentityRule> rules = {
      {"employee_number", IdentityRule::Kind::kExternalId, "hr:*", false},
      {"national_id", IdentityRule::Kind::kExternalId, "national-id", true}};
  tv1::Person p = person("p-1", "a@b.my");
  auto* id = p.add_ids();
  id->set_system("hr:acme");
  id->set_value("E-123");
  id = p.add_ids();
  id->set_system("national-id");
  id->set_value("900101-01-1234");  // raw: must never become a key
  id = p.add_ids();
  id->set_system("moodle:lms");  // no rule for it
  id->set_value("u1");
  std::vector<std::string> skipped;
  auto keys = identity_keys(p, rules, &skipped);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0], (std::pair<std::string, std::string>{"employee_number", "hr:acme/E-123"}));
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("not a hash"), std::string::npos);
  EXPECT_EQ(skipped[0].find("900101"), std::string::npos) << "the raw id must not be logged";

  p.mutable_ids(1)->set_value(std::string(64, 'A'));
  keys = identity_keys(p, rules);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].second, "national-id/" + std::string(64, 'a'));
}

TEST(Decide, OneHolderLinksSeveralOrConflictingGoToReview) {
  auto d = decide({{"email", "a@b.my", {"p-2"}}, {"employee_number", "hr:x/1", {"p-2"}}});
  ASSERT_EQ(d.links.size(), 2u);
  EXPECT_TRUE(d.reviews.empty());

  d = decide({{"email", "a@b.my", {"p-2", "p-3"}}});
  EXPECT_TRUE(d.links.empty());
  ASSERT_EQ(d.reviews.size(), 1u);
  EXPECT_EQ(d.reviews[0].candidates, (std::vector<std::string>{"p-2", "p-3"}));

  d = decide({{"email", "a@b.my", {"p-2"}}, {"employee_number", "hr:x/1", {"p-3"}}});
  EXPECT_TRUE(d.links.empty());
  EXPECT_EQ(d.reviews.size(), 2u);
  EXPECT_EQ(d.reviews[0].reason, "the rules point at different records");
}

class IdentityLedger : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteLedgerStore::open(dir_ / "ledger.db", {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  ApplyResult registered(const tv1::Person& p) {
    EXPECT_TRUE(store_->begin().ok());
    ++n_;
    const auto e = make_event("talent.person.registered", "ev-" + std::to_string(n_),
                              "2025-01-0" + std::to_string(std::min(n_, 9)) + "T00:00:00Z", p);
    ApplyResult r = apply_event(*store_, rules_, e);
    EXPECT_TRUE(store_->commit().ok());
    EXPECT_EQ(r.kind, ApplyResult::Kind::kApplied) << r.reason;
    return r;
  }
  simpang::testing::TempDir dir_{"ledger-identity"};
  std::vector<IdentityRule> rules_ = {
      {"email", IdentityRule::Kind::kEmail, "", false},
      {"employee_number", IdentityRule::Kind::kExternalId, "hr:*", false}};
  std::unique_ptr<SqliteLedgerStore> store_;
  int n_ = 0;
};

TEST_F(IdentityLedger, TheSamePersonInTwoSystemsIsLinkedByNormalisedEmail) {
  registered(person("lms-1", "Siti.Lee@Example.my"));
  const ApplyResult r = registered(person("hr-7", "  siti.lee@example.MY"));
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].other_id, "lms-1");
  EXPECT_EQ(r.links[0].rule, "email");
  EXPECT_EQ(r.links[0].evidence, "siti.lee@example.my");
  EXPECT_EQ(store_->links()->size(), 1u);
}

TEST_F(IdentityLedger, TwoPeopleSharingANameAreNeverLinked) {
  registered(person("p-1", "siti.lee1@example.my", "Siti Lee"));
  const ApplyResult r = registered(person("p-2", "siti.lee2@example.my", "Siti Lee"));
  EXPECT_TRUE(r.links.empty());
  EXPECT_TRUE(r.reviews.empty());
  EXPECT_TRUE(store_->links()->empty());
}

TEST_F(IdentityLedger, AChangedEmailLinksByTheNewOneAndForgetsTheOld) {
  registered(person("p-1", "old@example.my"));
  registered(person("p-2", "new@example.my"));
  tv1::Person moved = person("p-1", "NEW@example.my");  // p-1 changed address to p-2's
  const ApplyResult r = registered(moved);
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].other_id, "p-2");
  // The old address is no longer p-1's key: a newcomer with it matches nobody.
  EXPECT_TRUE(registered(person("p-3", "old@example.my")).links.empty());
}

TEST_F(IdentityLedger, AnEmployeeNumberIsOnlyTheSameWithinOneEmployer) {
  tv1::Person a = person("p-1", "a@acme.my");
  auto* id = a.add_ids();
  id->set_system("hr:acme");
  id->set_value("123");
  tv1::Person b = person("p-2", "b@globex.my");
  id = b.add_ids();
  id->set_system("hr:globex");
  id->set_value("123");
  registered(a);
  EXPECT_TRUE(registered(b).links.empty());
  tv1::Person a2 = person("p-3", "a.personal@mail.my");
  id = a2.add_ids();
  id->set_system("hr:acme");
  id->set_value("123");
  const ApplyResult r = registered(a2);
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.links[0].other_id, "p-1");
  EXPECT_EQ(r.links[0].rule, "employee_number");
}

TEST_F(IdentityLedger, AmbiguousAndConflictingMatchesAreRecordedForReview) {
  registered(person("p-1", "shared@family.my"));
  registered(person("p-2", "shared@family.my"));  // links to p-1
  const ApplyResult r = registered(person("p-3", "Shared@Family.my"));
  EXPECT_TRUE(r.links.empty());
  ASSERT_EQ(r.reviews.size(), 1u);
  EXPECT_EQ(r.reviews[0].candidates, (std::vector<std::string>{"p-1", "p-2"}));

  // Email says p-4, employee number says p-5: nothing is linked.
  registered(person("p-4", "x@acme.my"));
  tv1::Person five = person("p-5", "y@acme.my");
  auto* id = five.add_ids();
  id->set_system("hr:acme");
  id->set_value("9");
  registered(five);
  tv1::Person six = person("p-6", "X@acme.my");
  *six.add_ids() = five.ids(0);
  const ApplyResult c = registered(six);
  EXPECT_TRUE(c.links.empty());
  EXPECT_EQ(c.reviews.size(), 2u);
  auto reviews = store_->reviews();
  ASSERT_TRUE(reviews.ok());
  EXPECT_EQ(reviews->size(), 3u);
}

}  // namespace
}  // namespace simpang::plugins::talent_ledger
