// The statement store on a real SQLite file: pending rows are invisible until marked stored;
// inserts are all or nothing; voiding applies when the voiding statement is marked; rows survive
// reopening; scans order, resume and bound by stored time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.h"
#include "xapi_store.h"

namespace simpang::plugins::lms_xapi {
namespace {

StoredStatement row(const std::string& id, int64_t stored_ms, const std::string& voids = "") {
  StoredStatement r;
  r.id = id;
  r.stored_ms = stored_ms;
  r.voids = voids;
  r.json = "{\"id\":\"" + id + "\"}";
  r.received = r.json;
  return r;
}

std::vector<std::string> scan_ids(StatementStore& store, ScanRange range) {
  std::vector<std::string> ids;
  EXPECT_TRUE(store
                  .scan(range,
                        [&](const StoredStatement& r) {
                          ids.push_back(r.id);
                          return true;
                        })
                  .ok());
  return ids;
}

TEST(StatementStore, PendingUntilMarkedThenVisible) {
  simpang::testing::TempDir dir("xstore");
  auto store = StatementStore::open(dir / "s.db");
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->insert_pending({row("a", 10), row("b", 20)}).ok());
  EXPECT_TRUE(scan_ids(**store, {}).empty());
  auto pending = (*store)->pending();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*(*store)->oldest_pending_ms()).value(), 10);
  auto found = (*store)->find("a");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_TRUE((*found)->pending);

  ASSERT_TRUE((*store)->mark_stored({"a"}).ok());
  EXPECT_EQ(scan_ids(**store, {}), std::vector<std::string>{"a"});
  EXPECT_EQ((*(*store)->oldest_pending_ms()).value(), 20);
  ASSERT_TRUE((*store)->mark_stored({"b"}).ok());
  EXPECT_FALSE((*(*store)->oldest_pending_ms()).has_value());
  EXPECT_EQ(*(*store)->newest_stored_ms(), 20);
}

TEST(StatementStore, AnInsertIsAllOrNothing) {
  simpang::testing::TempDir dir("xstore");
  auto store = StatementStore::open(dir / "s.db");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->insert_pending({row("a", 10)}).ok());
  // "a" again violates the unique id: neither "c" nor the second "a" goes in.
  const Status s = (*store)->insert_pending({row("c", 11), row("a", 12)});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("s.db"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("inserting statement a"), std::string::npos) << s.message();
  auto c = (*store)->find("c");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
  ASSERT_EQ((*(*store)->pending()).size(), 1u);
}

TEST(StatementStore, VoidingAppliesWhenTheVoidingStatementIsStored) {
  simpang::testing::TempDir dir("xstore");
  auto store = StatementStore::open(dir / "s.db");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->insert_pending({row("target", 1)}).ok());
  ASSERT_TRUE((*store)->mark_stored({"target"}).ok());
  ASSERT_TRUE((*store)->insert_pending({row("voider", 2, "target")}).ok());
  EXPECT_FALSE((*(*store)->find("target"))->voided);  // not until the voider is stored
  ASSERT_TRUE((*store)->mark_stored({"voider"}).ok());
  EXPECT_TRUE((*(*store)->find("target"))->voided);
  EXPECT_EQ(scan_ids(**store, {}), std::vector<std::string>{"voider"});

  // A voiding statement is never voided (xAPI-Data.md 2.3.2).
  ASSERT_TRUE((*store)->insert_pending({row("voider2", 3, "voider")}).ok());
  ASSERT_TRUE((*store)->mark_stored({"voider2"}).ok());
  EXPECT_FALSE((*(*store)->find("voider"))->voided);
}

TEST(StatementStore, RowsSurviveReopeningAndScansOrderResumeAndBound) {
  simpang::testing::TempDir dir("xstore");
  {
    auto store = StatementStore::open(dir / "s.db");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->insert_pending({row("a", 10), row("b", 20), row("c", 30)}).ok());
    ASSERT_TRUE((*store)->mark_stored({"a", "b", "c"}).ok());
  }
  auto store = StatementStore::open(dir / "s.db");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(scan_ids(**store, {}), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(scan_ids(**store, {.ascending = true}), (std::vector<std::string>{"a", "b", "c"}));
  const int64_t b_seq = (*(*store)->find("b"))->seq;
  EXPECT_EQ(scan_ids(**store, {.after_seq = b_seq}), std::vector<std::string>{"a"});
  EXPECT_EQ(scan_ids(**store, {.ascending = true, .after_seq = b_seq}),
            std::vector<std::string>{"c"});
  EXPECT_EQ(scan_ids(**store, {.since_ms = 10, .until_ms = 20}), std::vector<std::string>{"b"});
}

TEST(StatementStore, OpenNamesTheFileItCannotOpen) {
  auto store = StatementStore::open("/nonexistent-dir/s.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/nonexistent-dir/s.db"), std::string::npos);
}

}  // namespace
}  // namespace simpang::plugins::lms_xapi
