// The storage contract, run against every backend through the LedgerStore interface alone:
// SQLite on a temporary file, and PostgreSQL on a real server the test starts on 127.0.0.1 (a
// fresh database per test). Each entity materialised, redelivery changes nothing, an older update
// delivered late is kept out, identity links and reviews, the progress facts, migrations applied
// once and a newer schema refused.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>

#include "apply.h"
#include "ledger_fixtures.h"
#include "pg_server.h"
#include "pg_store.h"
#include "progress.h"
#include "simpang/sdk/testing.h"
#include "sqlite_store.h"
#include "talent_ledger.h"

namespace simpang::plugins::talent_ledger {
namespace {

namespace tv1 = simpang::talent::v1;
using testing::make_event;
using testing::person;
using testing::ts;

testing::PgServer* pg = nullptr;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override { pg = new testing::PgServer(); }
  void TearDown() override {
    delete pg;
    pg = nullptr;
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

// Runs one statement on the server's `postgres` database (to create test databases).
void pg_admin(const std::string& dsn, const std::string& sql) {
  PGconn* c = PQconnectdb(dsn.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, sql.c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
}

class Contract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      if (!pg->available()) GTEST_SKIP() << "no PostgreSQL for this test: " << pg->why_not();
      static int n = 0;
      db_ = "ledger_" + std::to_string(getpid()) + "_" + std::to_string(++n);
      pg_admin(pg->dsn(), "CREATE DATABASE " + db_);
    }
    reopen();
  }

  void reopen() {
    store_.reset();
    if (GetParam() == "postgresql") {
      auto s = PgLedgerStore::open(pg->dsn(db_), {});
      ASSERT_TRUE(s.ok()) << s.status().message();
      store_ = std::move(*s);
    } else {
      auto s = SqliteLedgerStore::open(dir_ / "ledger.db", {});
      ASSERT_TRUE(s.ok()) << s.status().message();
      store_ = std::move(*s);
    }
  }

  ApplyResult apply(const simpang::v1::Event& e) {
    EXPECT_TRUE(store_->begin().ok());
    ApplyResult r = apply_event(*store_, rules_, e);
    if (r.kind == ApplyResult::Kind::kMalformed || r.kind == ApplyResult::Kind::kStorageError ||
        r.kind == ApplyResult::Kind::kDuplicate) {
      EXPECT_TRUE(store_->rollback().ok());
    } else {
      Status s = store_->commit();
      EXPECT_TRUE(s.ok()) << s.message();
    }
    EXPECT_NE(r.kind, ApplyResult::Kind::kStorageError) << r.reason;
    return r;
  }

  simpang::testing::TempDir dir_{"ledger-contract"};
  std::string db_;
  std::vector<IdentityRule> rules_{IdentityRule{"email", IdentityRule::Kind::kEmail, "", false}};
  std::unique_ptr<LedgerStore> store_;
};

TEST_P(Contract, MaterialisesIdempotentlyAndKeepsOlderUpdatesOut) {
  tv1::Organisation o;
  o.set_organisation_id("org-1");
  o.set_registry_status(tv1::REGISTRY_STATUS_ACTIVE);
  o.set_training_target(40);
  tv1::Course c;
  c.set_course_id("course-1");
  c.set_title("Machine Learning");
  tv1::Enrollment n;
  n.set_enrollment_id("enr-1");
  n.set_person_id("p-1");
  n.set_course_id("course-1");
  *n.mutable_enrolled_at() = ts("2025-02-01T00:00:00Z");
  tv1::Completion k;
  k.set_enrollment_id("enr-1");
  k.set_person_id("p-1");
  k.set_course_id("course-1");
  k.set_score(88.25);
  k.set_passed(true);
  *k.mutable_completed_at() = ts("2025-03-01T00:00:00Z");
  tv1::Credential r;
  r.set_credential_id("cred-1");
  r.set_person_id("p-1");
  r.set_kind(tv1::CREDENTIAL_KIND_CERTIFICATION);
  r.set_course_id("course-1");
  *r.mutable_issued_at() = ts("2025-03-01T00:00:00Z");
  tv1::Employment ended;
  ended.set_person_id("p-1");
  ended.set_organisation_id("org-1");
  ended.set_active(false);
  tv1::Employment started = ended;
  started.set_active(true);
  const auto t = "2025-03-01T00:00:00Z";
  const std::vector<simpang::v1::Event> events = {
      make_event("talent.organisation.registered", "e1", t, o),
      make_event("talent.course.published", "e2", t, c),
      make_event("talent.person.registered", "e3", t, person("p-1", "siti@example.my")),
      make_event("talent.enrollment.created", "e4", t, n),
      make_event("talent.completion.recorded", "e5", t, k),
      make_event("talent.credential.issued", "e6", t, r),
      make_event("talent.employment.updated", "e7", "2025-06-30T00:00:00Z", ended),
      make_event("talent.employment.updated", "e8", "2025-01-01T00:00:00Z", started)};
  for (const auto& e : events) EXPECT_EQ(apply(e).kind, ApplyResult::Kind::kApplied) << e.id();
  for (const auto& e : events) EXPECT_EQ(apply(e).kind, ApplyResult::Kind::kDuplicate) << e.id();
  for (const char* table : {"organisations", "courses", "persons", "enrollments", "completions",
                            "credentials", "employments"}) {
    EXPECT_EQ(*store_->count(table), 1u) << table;
  }
  EXPECT_EQ(*store_->count("applied_events"), events.size());

  auto facts = read_progress_facts(*store_);
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  ASSERT_EQ(facts->learners.size(), 1u);
  EXPECT_EQ(facts->learners[0].segment, "student");
  EXPECT_EQ(facts->learners[0].first_enrolled_at, *parse_date_micros("2025-02-01"));
  EXPECT_EQ(facts->learners[0].first_completed_at, *parse_date_micros("2025-03-01"));
  EXPECT_EQ(facts->learners[0].first_certified_at, *parse_date_micros("2025-03-01"));
  ASSERT_EQ(facts->partners.size(), 1u);
  EXPECT_EQ(facts->partners[0].registry_status, "active");
  EXPECT_EQ(facts->partners[0].training_target, 40u);
  // The end (newer) arrived first; the start (older) must not have made the job active again.
  EXPECT_EQ(facts->partners[0].learners_employed, 0u);
  ASSERT_EQ(facts->courses.size(), 1u);
  EXPECT_EQ(facts->courses[0].title, "Machine Learning");
  EXPECT_EQ(facts->courses[0].enrolled, 1u);
  EXPECT_EQ(facts->courses[0].passed, 1u);
  EXPECT_EQ(facts->courses[0].certified, 1u);
}

TEST_P(Contract, IdentityLinksAndReviews) {
  apply(make_event("talent.person.registered", "e1", "2025-01-01T00:00:00Z",
                   person("lms-1", "Siti@Example.my")));
  const ApplyResult linked =
      apply(make_event("talent.person.registered", "e2", "2025-01-02T00:00:00Z",
                       person("hr-1", " siti@example.MY")));
  ASSERT_EQ(linked.links.size(), 1u);
  const ApplyResult ambiguous =
      apply(make_event("talent.person.registered", "e3", "2025-01-03T00:00:00Z",
                       person("scim-1", "SITI@example.my")));
  EXPECT_TRUE(ambiguous.links.empty());
  ASSERT_EQ(ambiguous.reviews.size(), 1u);
  auto links = store_->links();
  ASSERT_TRUE(links.ok());
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].person_id, "hr-1");
  EXPECT_EQ((*links)[0].other_id, "lms-1");
  EXPECT_EQ((*links)[0].evidence, "siti@example.my");
  auto reviews = store_->reviews();
  ASSERT_TRUE(reviews.ok());
  ASSERT_EQ(reviews->size(), 1u);
  EXPECT_EQ((*reviews)[0].candidates, (std::vector<std::string>{"hr-1", "lms-1"}));
  auto facts = read_progress_facts(*store_);
  ASSERT_TRUE(facts.ok());
  const Progress p = compute_progress(*facts, Targets{}, *parse_date_micros("2025-02-01"));
  EXPECT_EQ(p.overall.registered, 2u);  // hr-1 counted with lms-1; scim-1 waits for review
}

// What the HR and registry connectors send: people updated and deactivated, employments with a
// department and manager, partners with a certification and a deregistration.
TEST_P(Contract, HrAndRegistryChangesUpsertAndKeepWhatTheyDoNotKnow) {
  const auto lms = person("p-1", "siti@example.my");  // registered with segment, region, time
  tv1::Person from_hr;                                 // an HR update knows less
  from_hr.set_person_id("p-1");
  from_hr.set_email("siti.lee@acme.example");
  from_hr.set_display_name("Siti Lee");
  tv1::Employment job;
  job.set_person_id("p-1");
  job.set_organisation_id("org-1");
  job.set_active(true);
  job.set_department("Data");
  job.set_manager_person_id("p-9");
  tv1::Organisation partner;
  partner.set_organisation_id("org-1");
  partner.set_name("Acme");
  partner.set_registry_status(tv1::REGISTRY_STATUS_ACTIVE);
  partner.set_training_target(30);
  tv1::Organisation certified = partner;
  certified.set_certification("gold");
  *certified.mutable_certification_expires_at() = ts("2027-01-01T00:00:00Z");
  tv1::Organisation gone = certified;
  gone.clear_registry_status();
  const std::vector<simpang::v1::Event> events = {
      make_event("talent.person.registered", "h1", "2025-01-09T00:00:00Z", lms),
      make_event("talent.person.updated", "h2", "2025-02-01T00:00:00Z", from_hr),
      make_event("talent.employment.updated", "h3", "2025-02-01T00:00:00Z", job),
      make_event("partner.registered", "h4", "2025-01-01T00:00:00Z", partner),
      make_event("partner.certification.changed", "h5", "2025-03-01T00:00:00Z", certified)};
  for (const auto& e : events) EXPECT_EQ(apply(e).kind, ApplyResult::Kind::kApplied) << e.id();

  auto facts = read_progress_facts(*store_);
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  ASSERT_EQ(facts->learners.size(), 1u);
  // The update kept the segment and the registration the LMS gave.
  EXPECT_EQ(facts->learners[0].segment, "student");
  EXPECT_EQ(facts->learners[0].registered_at, *parse_date_micros("2025-01-09"));
  EXPECT_FALSE(facts->learners[0].deactivated_at.has_value());
  ASSERT_EQ(facts->partners.size(), 1u);
  EXPECT_EQ(facts->partners[0].registry_status, "active");
  EXPECT_EQ(facts->partners[0].certification, "gold");
  EXPECT_EQ(facts->partners[0].certification_expires_at, *parse_date_micros("2027-01-01"));
  EXPECT_EQ(facts->partners[0].learners_employed, 1u);
  EXPECT_FALSE(facts->partners[0].deregistered_at.has_value());

  // Deactivated and deregistered: kept, marked with the event's time.
  EXPECT_EQ(apply(make_event("talent.person.deactivated", "h6", "2025-04-01T00:00:00Z", from_hr))
                .kind,
            ApplyResult::Kind::kApplied);
  EXPECT_EQ(apply(make_event("partner.deregistered", "h7", "2025-05-01T00:00:00Z", gone)).kind,
            ApplyResult::Kind::kApplied);
  // An older update arriving late changes nothing.
  EXPECT_TRUE(apply(make_event("talent.person.updated", "h8", "2025-03-01T00:00:00Z", from_hr))
                  .stale);
  facts = read_progress_facts(*store_);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->learners[0].deactivated_at, *parse_date_micros("2025-04-01"));
  EXPECT_EQ(facts->partners[0].registry_status, "withdrawn");
  EXPECT_EQ(facts->partners[0].deregistered_at, *parse_date_micros("2025-05-01"));
  const Progress p = compute_progress(*facts, Targets{}, *parse_date_micros("2025-06-01"));
  EXPECT_EQ(p.records_deactivated, 1u);
  EXPECT_EQ(p.overall.registered, 1u);  // still counted

  // A later change reactivates.
  EXPECT_EQ(apply(make_event("talent.person.updated", "h9", "2025-06-01T00:00:00Z", from_hr)).kind,
            ApplyResult::Kind::kApplied);
  facts = read_progress_facts(*store_);
  ASSERT_TRUE(facts.ok());
  EXPECT_FALSE(facts->learners[0].deactivated_at.has_value());
}

TEST_P(Contract, MigratesOnceAndSurvivesReopening) {
  apply(make_event("talent.person.registered", "e1", "2025-01-01T00:00:00Z",
                   person("p-1", "a@b.my")));
  reopen();
  EXPECT_EQ(*store_->count("schema_migrations"), static_cast<uint64_t>(schema_version_known()));
  EXPECT_EQ(*store_->count("persons"), 1u);
  EXPECT_EQ(apply(make_event("talent.person.registered", "e1", "2025-01-01T00:00:00Z",
                             person("p-1", "a@b.my")))
                .kind,
            ApplyResult::Kind::kDuplicate);
}

TEST(ContractPostgresql, ANewerSchemaIsRefused) {
  if (!pg->available()) GTEST_SKIP() << "no PostgreSQL for this test: " << pg->why_not();
  const std::string db = "ledger_newer_" + std::to_string(getpid());
  pg_admin(pg->dsn(), "CREATE DATABASE " + db);
  { ASSERT_TRUE(PgLedgerStore::open(pg->dsn(db), {}).ok()); }
  pg_admin(pg->dsn(db), "INSERT INTO schema_migrations (version) VALUES (99)");
  auto refused = PgLedgerStore::open(pg->dsn(db), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("has schema version 99, newer than this "
                                            "talent-ledger knows"),
            std::string::npos)
      << refused.status().message();
  auto unreachable = PgLedgerStore::open("host=127.0.0.1 port=1 connect_timeout=2", {});
  ASSERT_FALSE(unreachable.ok());
  EXPECT_NE(unreachable.status().message().find("cannot connect"), std::string::npos);
}

TEST(ContractPostgresql, TheSinkWritesToPostgresqlWhenConfigured) {
  if (!pg->available()) GTEST_SKIP() << "no PostgreSQL for this test: " << pg->why_not();
  const std::string db = "ledger_sink_" + std::to_string(getpid());
  pg_admin(pg->dsn(), "CREATE DATABASE " + db);
  simpang::sdk::testing::PluginHarness<TalentLedger> h(
      {{"backend", "postgresql"}, {"dsn", pg->dsn(db)}});
  h.start();
  const auto e = make_event("talent.person.registered", "e1", "2025-01-09T00:00:00Z",
                            person("p-1", "siti@example.my"));
  EXPECT_EQ(h.deliver(e).kind(), simpang::sdk::Outcome::Kind::kAck);
  EXPECT_EQ(h.deliver(e).kind(), simpang::sdk::Outcome::Kind::kAck);
  auto reader = PgLedgerStore::open(pg->dsn(db), {.read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ(*(*reader)->count("persons"), 1u);
  EXPECT_EQ(*(*reader)->count("applied_events"), 1u);
  EXPECT_FALSE(std::filesystem::exists(h.state_dir() / "ledger.db"));
}

TEST(ContractPostgresql, AnUnreachableServerFailsTheInstanceAtStart) {
  try {
    simpang::sdk::testing::PluginHarness<TalentLedger> h(
        {{"backend", "postgresql"}, {"dsn", "host=127.0.0.1 port=1 connect_timeout=2"}});
    FAIL() << "accepted";
  } catch (const simpang::sdk::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Contract, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace simpang::plugins::talent_ledger
