// The talent-ledger sink in the SDK's PluginHarness: acknowledges an applied event, acknowledges
// a redelivery without a second row, dead-letters malformed data with the field named, answers
// retry_later while the database is locked (and applies the event on the retry), survives a
// restart with its data, and refuses bad configuration naming the key.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "ledger_fixtures.h"
#include "simpang/sdk/testing.h"
#include "talent_ledger.h"

namespace simpang::plugins::talent_ledger {
namespace {

using simpang::sdk::ConfigError;
using simpang::sdk::Outcome;
using simpang::sdk::testing::PluginHarness;
using testing::make_event;
using testing::person;

TEST(TalentLedgerPlugin, AppliesAcksDuplicatesAndRejectsMalformed) {
  PluginHarness<TalentLedger> h({{"database", "db/ledger.db"}});
  h.start();
  const auto e = make_event("talent.person.registered", "e1", "2025-01-09T00:00:00Z",
                            person("p-1", "siti@example.my"));
  EXPECT_EQ(h.deliver(e).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(h.deliver(e).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(*h.plugin().store().count("persons"), 1u);
  EXPECT_EQ(h.counters().at("events_applied"), 1);
  EXPECT_EQ(h.counters().at("events_duplicate"), 1);
  EXPECT_TRUE(std::filesystem::exists(h.state_dir() / "db" / "ledger.db"));

  simpang::talent::v1::Person nobody = person("", "x@y.my");
  const Outcome bad =
      h.deliver(make_event("talent.person.registered", "e2", "2025-01-09T00:00:00Z", nobody));
  EXPECT_EQ(bad.kind(), Outcome::Kind::kReject);
  EXPECT_EQ(bad.reason(), "talent.person.registered: data.personId is missing or empty");
  EXPECT_TRUE(h.logged("rejected event e2 from /test/ledger"));
}

TEST(TalentLedgerPlugin, ALockedDatabaseIsRetryLaterAndTheRetryApplies) {
  PluginHarness<TalentLedger> h;
  h.start();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((h.state_dir() / "ledger.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto e = make_event("talent.person.registered", "e1", "2025-01-09T00:00:00Z",
                            person("p-1", "siti@example.my"));
  const Outcome busy = h.deliver(e);  // waits out the busy timeout, then gives up
  EXPECT_EQ(busy.kind(), Outcome::Kind::kRetryLater);
  EXPECT_NE(busy.reason().find("locked"), std::string::npos) << busy.reason();
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(h.deliver(e).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(*h.plugin().store().count("persons"), 1u);
}

TEST(TalentLedgerPlugin, KeepsItsDataAcrossARestart) {
  PluginHarness<TalentLedger> h;
  h.start();
  const auto e = make_event("talent.person.registered", "e1", "2025-01-09T00:00:00Z",
                            person("p-1", "siti@example.my"));
  EXPECT_EQ(h.deliver(e).kind(), Outcome::Kind::kAck);
  h.restart();
  h.start();
  EXPECT_EQ(h.deliver(e).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(h.counters().at("events_duplicate"), 1);
  EXPECT_EQ(*h.plugin().store().count("persons"), 1u);
}

TEST(TalentLedgerPlugin, AnnouncesALinkAndAnnouncesItAgainOnRedelivery) {
  PluginHarness<TalentLedger> h({}, {.instance_name = "ledger"});
  h.start();
  EXPECT_EQ(h.deliver(make_event("talent.person.registered", "e1", "2025-01-09T00:00:00Z",
                                 person("lms-1", "Siti@Example.my")))
                .kind(),
            Outcome::Kind::kAck);
  EXPECT_TRUE(h.emitted().empty());
  const auto second = make_event("talent.person.registered", "e2", "2025-01-10T00:00:00Z",
                                 person("hr-1", "siti@example.my "));
  EXPECT_EQ(h.deliver(second).kind(), Outcome::Kind::kAck);
  ASSERT_EQ(h.emitted().size(), 1u);
  const simpang::v1::Event linked = h.emitted()[0];
  EXPECT_EQ(linked.type(), "talent.person.linked");
  EXPECT_EQ(linked.source(), "/simpang/talent-ledger/ledger");
  EXPECT_EQ(linked.subject(), "hr-1");
  const auto data = nlohmann::json::parse(linked.text_data());
  EXPECT_EQ(data["otherPersonId"], "lms-1");
  EXPECT_EQ(data["rule"], "email");
  EXPECT_EQ(data["evidence"], "siti@example.my");
  // Redelivered (as after a crash before the hub had the announcement): announced again, with
  // the same id, so the hub keeps one.
  EXPECT_EQ(h.deliver(second).kind(), Outcome::Kind::kAck);
  ASSERT_EQ(h.emitted().size(), 2u);
  EXPECT_EQ(h.emitted()[1].id(), linked.id());
  // An emit the runtime refuses is retry_later, and the retry announces it.
  const auto third = make_event("talent.person.registered", "e3", "2025-01-11T00:00:00Z",
                                person("lms-2", "ali@example.my"));
  EXPECT_EQ(h.deliver(third).kind(), Outcome::Kind::kAck);
  const auto fourth = make_event("talent.person.registered", "e4", "2025-01-12T00:00:00Z",
                                 person("hr-2", "ALI@example.my"));
  h.fail_next_emits(1);
  EXPECT_EQ(h.deliver(fourth).kind(), Outcome::Kind::kRetryLater);
  EXPECT_EQ(h.deliver(fourth).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(h.emitted().back().subject(), "hr-2");
}

TEST(TalentLedgerPlugin, BadConfigurationNamesTheKey) {
  auto message = [](nlohmann::json config) {
    try {
      PluginHarness<TalentLedger> h(std::move(config));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("<accepted>");
  };
  EXPECT_EQ(message({{"sync", "sometimes"}}),
            "config.sync: must be normal or full, got 'sometimes'");
  EXPECT_EQ(message({{"targets", {{"end_date", "soon"}}}}),
            "config.targets.end_date: must be a date (YYYY-MM-DD) or an RFC 3339 time, got "
            "'soon'");
  EXPECT_NE(message({{"targets", {{"by_segment", {{"pupils", 3}}}}}}).find("pupils"),
            std::string::npos);
  EXPECT_EQ(message({{"identity", {{"rules", {{{"kind", "name"}}}}}}}),
            "config.identity.rules[0].kind: a name alone never identifies a person: use email or "
            "external_id");
  EXPECT_NE(message({{"databse", "x.db"}}).find("databse"), std::string::npos);
}

}  // namespace
}  // namespace simpang::plugins::talent_ledger
