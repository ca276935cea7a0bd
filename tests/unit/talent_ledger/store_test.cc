// The ledger's store and apply logic on a real SQLite file: every event type materialised, the
// same event twice changes nothing, an older update delivered late does not overwrite a newer
// one, malformed data is refused naming the field, and the schema migrates once and refuses a
// newer version than the code knows.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "apply.h"
#include "ledger_fixtures.h"
#include "sqlite_store.h"
#include "test_support.h"

namespace simpang::plugins::talent_ledger {
namespace {

namespace tv1 = simpang::talent::v1;
using testing::make_event;
using testing::person;
using testing::ts;

class LedgerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteLedgerStore::open(dir_ / "ledger.db", {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }

  ApplyResult apply(const simpang::v1::Event& e) {
    EXPECT_TRUE(store_->begin().ok());
    ApplyResult r = apply_event(*store_, rules_, e);
    if (r.kind == ApplyResult::Kind::kMalformed || r.kind == ApplyResult::Kind::kStorageError) {
      EXPECT_TRUE(store_->rollback().ok());
    } else {
      EXPECT_TRUE(store_->commit().ok());
    }
    return r;
  }

  // One column of one row, as text, read with a plain SQLite connection of the test's own.
  std::string column(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((dir_ / "ledger.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out = "<no row>";
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "<null>";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  simpang::testing::TempDir dir_{"ledger-store"};
  std::vector<IdentityRule> rules_{IdentityRule{"email", IdentityRule::Kind::kEmail, "", false}};
  std::unique_ptr<SqliteLedgerStore> store_;
};

TEST_F(LedgerStoreTest, MaterialisesEveryEventType) {
  tv1::Organisation o;
  o.set_organisation_id("org-1");
  o.set_name("Universiti Pahang");
  o.set_kind(tv1::ORGANISATION_KIND_UNIVERSITY);
  o.set_registry_status(tv1::REGISTRY_STATUS_ACTIVE);
  o.set_training_target(1050);
  tv1::Course c;
  c.set_course_id("course-1");
  c.set_title("Data Analytics");
  c.set_certification(true);
  c.set_pass_score(70);
  tv1::Employment m;
  m.set_person_id("p-1");
  m.set_organisation_id("org-1");
  m.set_active(true);
  tv1::Enrollment n;
  n.set_enrollment_id("enr-1");
  n.set_person_id("p-1");
  n.set_course_id("course-1");
  *n.mutable_enrolled_at() = ts("2025-02-01T00:00:00Z");
  tv1::Completion k;
  k.set_enrollment_id("enr-1");
  k.set_person_id("p-1");
  k.set_course_id("course-1");
  k.set_score(81.5);
  k.set_passed(true);
  tv1::Credential r;
  r.set_credential_id("cred-1");
  r.set_person_id("p-1");
  r.set_kind(tv1::CREDENTIAL_KIND_CERTIFICATION);
  r.set_course_id("course-1");
  const auto t = "2025-02-01T00:00:00Z";
  for (const auto& e :
       {make_event("talent.organisation.registered", "e1", t, o),
        make_event("talent.course.published", "e2", t, c),
        make_event("talent.person.registered", "e3", t, person("p-1", "siti@example.my")),
        make_event("talent.employment.updated", "e4", t, m),
        make_event("talent.enrollment.created", "e5", t, n),
        make_event("talent.completion.recorded", "e6", t, k),
        make_event("talent.credential.issued", "e7", t, r)}) {
    const ApplyResult r = apply(e);
    EXPECT_EQ(r.kind, ApplyResult::Kind::kApplied) << e.type() << ": " << r.reason;
  }
  EXPECT_EQ(column("SELECT registry_status FROM organisations"), "active");
  EXPECT_EQ(column("SELECT training_target FROM organisations"), "1050");
  EXPECT_EQ(column("SELECT certification FROM courses"), "1");
  EXPECT_EQ(column("SELECT segment FROM persons"), "student");
  EXPECT_EQ(column("SELECT active FROM employments WHERE person_id='p-1'"), "1");
  EXPECT_EQ(column("SELECT course_id FROM enrollments"), "course-1");
  EXPECT_EQ(column("SELECT score FROM completions"), "81.5");
  EXPECT_EQ(column("SELECT kind FROM credentials"), "certification");
  EXPECT_EQ(*store_->count("applied_events"), 7u);
}

TEST_F(LedgerStoreTest, TheSameEventTwiceChangesNothing) {
  const auto e = make_event("talent.person.registered", "e1", "2025-01-09T00:00:00Z",
                            person("p-1", "siti@example.my"));
  EXPECT_EQ(apply(e).kind, ApplyResult::Kind::kApplied);
  // Someone edited the row since (as a newer event would): a redelivery must not undo that.
  auto again = make_event("talent.person.registered", "e1", "2025-01-09T00:00:00Z",
                          person("p-1", "other@example.my"));
  EXPECT_EQ(apply(again).kind, ApplyResult::Kind::kDuplicate);
  EXPECT_EQ(column("SELECT email FROM persons"), "siti@example.my");
  EXPECT_EQ(*store_->count("persons"), 1u);
  EXPECT_EQ(*store_->count("applied_events"), 1u);
  // The same id from another source is another event.
  again.set_source("/test/other");
  EXPECT_EQ(apply(again).kind, ApplyResult::Kind::kApplied);
}

TEST_F(LedgerStoreTest, AnOlderUpdateDeliveredLateDoesNotOverwriteANewerOne) {
  tv1::Employment started;
  started.set_person_id("p-1");
  started.set_organisation_id("org-1");
  started.set_active(true);
  tv1::Employment ended = started;
  ended.set_active(false);
  *ended.mutable_end_date() = ts("2025-06-30T00:00:00Z");
  // The end arrives first, the start (older) after it.
  EXPECT_EQ(
      apply(make_event("talent.employment.updated", "end", "2025-06-30T00:00:00Z", ended)).kind,
      ApplyResult::Kind::kApplied);
  const ApplyResult late =
      apply(make_event("talent.employment.updated", "start", "2025-01-01T00:00:00Z", started));
  EXPECT_EQ(late.kind, ApplyResult::Kind::kApplied);
  EXPECT_TRUE(late.stale);
  EXPECT_EQ(column("SELECT active FROM employments"), "0");
  EXPECT_NE(column("SELECT end_date FROM employments"), "<null>");
  // A newer one still wins.
  tv1::Employment rehired = started;
  rehired.set_job_title("Lead");
  EXPECT_FALSE(
      apply(make_event("talent.employment.updated", "rehire", "2025-09-01T00:00:00Z", rehired))
          .stale);
  EXPECT_EQ(column("SELECT job_title || active FROM employments"), "Lead1");
}

TEST_F(LedgerStoreTest, MalformedDataIsRefusedNamingTheField) {
  tv1::Enrollment n;
  n.set_enrollment_id("enr-1");
  n.set_course_id("course-1");
  ApplyResult r = apply(make_event("talent.enrollment.created", "e1", "2025-01-01T00:00:00Z", n));
  EXPECT_EQ(r.kind, ApplyResult::Kind::kMalformed);
  EXPECT_EQ(r.reason, "talent.enrollment.created: data.personId is missing or empty");

  auto bad_json =
      make_event("talent.person.registered", "e2", "2025-01-01T00:00:00Z", person("p-1", "a@b.my"));
  bad_json.set_text_data(R"({"personId":"p-1","registeredAt":"yesterday"})");
  r = apply(bad_json);
  EXPECT_EQ(r.kind, ApplyResult::Kind::kMalformed);
  EXPECT_NE(r.reason.find("data is not a simpang.talent.v1.Person"), std::string::npos) << r.reason;

  tv1::Completion k;
  k.set_enrollment_id("enr-1");
  k.set_person_id("p-1");
  k.set_course_id("c");
  k.set_score(170);
  r = apply(make_event("talent.completion.recorded", "e3", "2025-01-01T00:00:00Z", k));
  EXPECT_EQ(r.kind, ApplyResult::Kind::kMalformed);
  EXPECT_NE(r.reason.find("data.score"), std::string::npos) << r.reason;

  auto no_time =
      make_event("talent.person.registered", "e4", "2025-01-01T00:00:00Z", person("p-1", "a@b.my"));
  no_time.clear_time();
  r = apply(no_time);
  EXPECT_EQ(r.kind, ApplyResult::Kind::kMalformed);
  EXPECT_NE(r.reason.find("attribute 'time'"), std::string::npos);
  // Nothing of the refused events was kept: they may be fixed and replayed.
  EXPECT_EQ(*store_->count("applied_events"), 0u);
  EXPECT_EQ(*store_->count("persons"), 0u);
}

TEST_F(LedgerStoreTest, OtherTypesAreRecordedAndIgnored) {
  auto e = make_event("talent.person.linked", "e1", "2025-01-01T00:00:00Z", person("p", "a@b.my"));
  EXPECT_EQ(apply(e).kind, ApplyResult::Kind::kIgnored);
  EXPECT_EQ(apply(e).kind, ApplyResult::Kind::kDuplicate);
  EXPECT_EQ(*store_->count("persons"), 0u);
}

TEST(LedgerSchema, MigratesOnceAndRefusesANewerSchema) {
  simpang::testing::TempDir dir("ledger-schema");
  const auto path = dir / "ledger.db";
  {
    auto s = SqliteLedgerStore::open(path, {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(*(*s)->schema_version(), schema_version_known());
  }
  {
    auto again = SqliteLedgerStore::open(path, {});  // already migrated: a no-op
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(*(*again)->count("schema_migrations"), static_cast<uint64_t>(schema_version_known()));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations (version) VALUES (99)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto refused = SqliteLedgerStore::open(path, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("has schema version 99, newer than this "
                                            "talent-ledger knows"),
            std::string::npos)
      << refused.status().message();
  auto reader = SqliteLedgerStore::open(path, {.read_only = true});
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("upgrade simpang"), std::string::npos);
}

TEST(LedgerSchema, AReaderRefusesAFileThatIsNoLedger) {
  simpang::testing::TempDir dir("ledger-schema");
  auto reader = SqliteLedgerStore::open(dir / "missing.db", {.read_only = true});
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("missing.db: cannot open"), std::string::npos)
      << reader.status().message();
}

}  // namespace
}  // namespace simpang::plugins::talent_ledger
