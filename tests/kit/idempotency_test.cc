// Tests of simpang::sdk::IdempotencyGuard: what it remembers, across restarts and compactions,
// with bounded memory, and how it treats a torn or damaged file.
#include "simpang/sdk/idempotency.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "simpang/sdk/config_reader.h"
#include "simpang/sdk/testing.h"

namespace {

using simpang::sdk::IdempotencyGuard;
using simpang::sdk::Outcome;
using simpang::sdk::testing::HarnessOptions;
using simpang::sdk::testing::PluginHarness;
using simpang::sdk::testing::TempDir;

simpang::v1::Event make_event(const std::string& source, const std::string& id) {
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source(source);
  event.set_type("test.happened");
  return event;
}

size_t lines_in(const std::filesystem::path& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
  }
  return n;
}

TEST(IdempotencyGuardTest, RemembersMarksAcrossARestart) {
  TempDir dir;
  {
    IdempotencyGuard guard(dir.path() / "seen", 100);
    EXPECT_FALSE(guard.seen(make_event("/a", "1")));
    ASSERT_TRUE(guard.mark(make_event("/a", "1")).ok());
    EXPECT_TRUE(guard.seen(make_event("/a", "1")));
    EXPECT_FALSE(guard.seen(make_event("/b", "1")));  // the same id from another source is new
  }
  IdempotencyGuard reopened(dir.path() / "seen", 100);
  EXPECT_TRUE(reopened.seen("/a", "1"));
  EXPECT_FALSE(reopened.seen("/a", "2"));
}

TEST(IdempotencyGuardTest, KeysCannotCollideThroughTheirSeparator) {
  TempDir dir;
  IdempotencyGuard guard(dir.path() / "seen", 10);
  ASSERT_TRUE(guard.mark("a:b", "c").ok());
  EXPECT_FALSE(guard.seen("a", "b:c"));
  ASSERT_TRUE(guard.mark("odd\t\"source\"\n", "id\nwith newline").ok());
  IdempotencyGuard reopened(dir.path() / "seen", 10);
  EXPECT_TRUE(reopened.seen("odd\t\"source\"\n", "id\nwith newline"));
  EXPECT_TRUE(reopened.seen("a:b", "c"));
}

TEST(IdempotencyGuardTest, RemembersOnlyTheLatestCapacityMarks) {
  TempDir dir;
  IdempotencyGuard guard(dir.path() / "seen", 3);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(guard.mark("/s", std::to_string(i)).ok());
  }
  EXPECT_EQ(guard.size(), 3u);
  EXPECT_FALSE(guard.seen("/s", "2"));
  EXPECT_TRUE(guard.seen("/s", "3"));
  EXPECT_TRUE(guard.seen("/s", "5"));
}

TEST(IdempotencyGuardTest, CompactsTheFileBeyondTwiceTheCapacity) {
  TempDir dir;
  const auto path = dir.path() / "seen";
  IdempotencyGuard guard(path, 10);
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(guard.mark("/s", std::to_string(i)).ok());
  }
  EXPECT_EQ(lines_in(path), 20u);  // at the bound, not past it
  ASSERT_TRUE(guard.mark("/s", "21").ok());
  EXPECT_EQ(lines_in(path), 10u);
  EXPECT_EQ(guard.file_records(), 10u);
  for (int i = 22; i <= 100; ++i) {
    ASSERT_TRUE(guard.mark("/s", std::to_string(i)).ok());
    ASSERT_LE(lines_in(path), 20u) << "after mark " << i;
  }
  IdempotencyGuard reopened(path, 10);
  EXPECT_TRUE(reopened.seen("/s", "100"));
  EXPECT_TRUE(reopened.seen("/s", "91"));
  EXPECT_FALSE(reopened.seen("/s", "90"));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".compact"));
}

TEST(IdempotencyGuardTest, MarkingAgainDoesNotGrowTheFile) {
  TempDir dir;
  IdempotencyGuard guard(dir.path() / "seen", 10);
  ASSERT_TRUE(guard.mark("/s", "1").ok());
  ASSERT_TRUE(guard.mark("/s", "1").ok());
  EXPECT_EQ(lines_in(dir.path() / "seen"), 1u);
}

TEST(IdempotencyGuardTest, ATornLastRecordIsDroppedAndAppendsStayWhole) {
  TempDir dir;
  const auto path = dir.path() / "seen";
  {
    std::ofstream out(path);
    out << "[\"/s\",\"1\"]\n[\"/s\",\"2\"]\n[\"/s\",\"3";  // a crash mid-write
  }
  {
    IdempotencyGuard guard(path, 10, IdempotencyGuard::Sync::kEveryMark);
    EXPECT_TRUE(guard.seen("/s", "2"));
    EXPECT_FALSE(guard.seen("/s", "3"));
    ASSERT_TRUE(guard.mark("/s", "4").ok());
  }
  IdempotencyGuard reopened(path, 10);
  EXPECT_TRUE(reopened.seen("/s", "4"));
  EXPECT_EQ(lines_in(path), 3u);
}

TEST(IdempotencyGuardTest, ADamagedRecordIsSkippedNotFatal) {
  TempDir dir;
  const auto path = dir.path() / "seen";
  {
    std::ofstream out(path);
    out << "[\"/s\",\"1\"]\nnot json\n[\"/s\",\"2\"]\n";
  }
  IdempotencyGuard guard(path, 10);
  EXPECT_TRUE(guard.seen("/s", "1"));
  EXPECT_TRUE(guard.seen("/s", "2"));
}

TEST(IdempotencyGuardTest, AnUnopenableFileFailsConstruction) {
  TempDir dir;
  EXPECT_THROW(IdempotencyGuard(dir.path() / "no-such-dir" / "seen", 10), std::runtime_error);
}

// The guard in the place it is meant for: a sink with a side effect that must not repeat.
class CountingSink : public simpang::sdk::Sink {
 public:
  explicit CountingSink(simpang::sdk::Context& ctx)
      : guard_(ctx.state_dir() / "seen",
               simpang::sdk::ConfigReader(ctx.config()).optional<uint32_t>("capacity", 1000)) {}
  Outcome on_event(simpang::sdk::Context& ctx, const simpang::v1::Event& event) override {
    if (guard_.seen(event)) {
      return Outcome::ack();
    }
    ++side_effects;
    if (auto status = guard_.mark(event); !status.ok()) {
      ctx.log(simpang::sdk::LogLevel::kWarn, status.message());
    }
    return Outcome::ack();
  }
  int side_effects = 0;

 private:
  IdempotencyGuard guard_;
};

TEST(IdempotencyGuardTest, ARedeliveryAfterARestartHasNoSecondSideEffect) {
  TempDir state;
  PluginHarness<CountingSink> h({}, HarnessOptions{.state_dir = state.path()});
  h.start();
  h.deliver(make_event("/lms", "e1"));
  h.deliver(make_event("/lms", "e1"));
  EXPECT_EQ(h.plugin().side_effects, 1);
  h.restart();
  h.start();
  h.deliver(make_event("/lms", "e1"));
  h.deliver(make_event("/lms", "e2"));
  EXPECT_EQ(h.plugin().side_effects, 1);  // e2 only, on the new object
}

}  // namespace
