// Tests of simpang::sdk::testing::PluginHarness and FakeContext: the virtual clock, the runtime's
// rules they mirror (emit checks, postponed callbacks, exceptions), restarts and cleanup.
#include <gtest/gtest.h>

#include <fstream>

#include "simpang/sdk/config_reader.h"
#include "simpang/sdk/testing.h"

namespace {

using simpang::sdk::Context;
using simpang::sdk::Outcome;
using simpang::sdk::testing::HarnessOptions;
using simpang::sdk::testing::PluginHarness;
using simpang::sdk::testing::TempDir;
using std::chrono::milliseconds;

simpang::v1::Event make_event(const std::string& id) {
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source("/tests");
  event.set_type("test.happened");
  return event;
}

// Records, in order, which scheduled callback ran at which virtual time.
class ClockSource : public simpang::sdk::Source {
 public:
  explicit ClockSource(Context& ctx) {}
  void on_start(Context& ctx) override {
    ctx.every(milliseconds(100), [this, &ctx] { ran.push_back("every@" + now(ctx)); });
    ctx.after(milliseconds(250), [this, &ctx] { ran.push_back("after@" + now(ctx)); });
    const auto cancelled = ctx.after(milliseconds(50), [this] { ran.push_back("cancelled"); });
    ctx.cancel(cancelled);
  }
  static std::string now(Context& ctx) {
    return std::to_string(static_cast<simpang::sdk::testing::FakeContext&>(ctx).now().count());
  }
  std::vector<std::string> ran;
};

TEST(PluginHarnessTest, AdvanceRunsDueCallbacksInOrderAtTheirTimes) {
  PluginHarness<ClockSource> h;
  h.advance(milliseconds(1000));  // before start: nothing runs, as in the runtime
  EXPECT_TRUE(h.plugin().ran.empty());
  h.start();
  h.advance(milliseconds(300));
  EXPECT_EQ(h.plugin().ran,
            (std::vector<std::string>{"every@1100", "every@1200", "after@1250", "every@1300"}));
}

TEST(PluginHarnessTest, BackPressurePostponesCallbacksUntilItLifts) {
  PluginHarness<ClockSource> h;
  h.start();
  h.set_backpressured(true);
  h.advance(milliseconds(300));
  EXPECT_TRUE(h.plugin().ran.empty());
  h.set_backpressured(false);
  h.advance(milliseconds(0));
  // Overdue callbacks run late, at the current time. The repeating one runs for its overdue turn
  // and once more "now", never once per missed interval: what the runtime does after a stall.
  EXPECT_EQ(h.plugin().ran, (std::vector<std::string>{"every@300", "after@300", "every@300"}));
  h.advance(milliseconds(100));
  EXPECT_EQ(h.plugin().ran.back(), "every@400");
}

TEST(PluginHarnessTest, StopCallsOnStopAndStopsTheClockWork) {
  struct Stopper : simpang::sdk::Source {
    explicit Stopper(Context& ctx) {}
    void on_start(Context& ctx) override {
      ctx.every(milliseconds(10), [this] { ++ticks; });
    }
    void on_stop(Context& ctx) override { stopped = true; }
    int ticks = 0;
    bool stopped = false;
  };
  PluginHarness<Stopper> h;
  h.start();
  h.advance(milliseconds(30));
  h.stop();
  h.advance(milliseconds(30));
  EXPECT_TRUE(h.plugin().stopped);
  EXPECT_EQ(h.plugin().ticks, 3);
}

// Emits what it is delivered under a new id, or throws for id "boom".
class Echo : public simpang::sdk::Transform {
 public:
  explicit Echo(Context& ctx)
      : prefix_(simpang::sdk::ConfigReader(ctx.config()).optional("prefix", "echo-")) {}
  Outcome on_event(Context& ctx, const simpang::v1::Event& event) override {
    if (event.id() == "boom") {
      throw std::runtime_error("exploded");
    }
    simpang::v1::Event out = event;
    out.set_id(prefix_ + event.id());
    if (auto status = ctx.emit(out); !status.ok()) {
      return Outcome::retry_later(status.message());
    }
    ctx.set_cursor("last", event.id());
    ctx.count("echoed");
    ctx.gauge("last_id_length", static_cast<double>(event.id().size()));
    ctx.log(simpang::sdk::LogLevel::kInfo, "echoed " + event.id());
    return Outcome::ack();
  }

 private:
  std::string prefix_;
};

TEST(PluginHarnessTest, DeliverCapturesEmittedEventsCursorsAndLogs) {
  PluginHarness<Echo> h({{"prefix", "x-"}});
  h.start();
  EXPECT_EQ(h.deliver(make_event("a")).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(h.deliver(make_event("b")).kind(), Outcome::Kind::kAck);
  ASSERT_EQ(h.emitted().size(), 2u);
  EXPECT_EQ(h.emitted()[1].id(), "x-b");
  EXPECT_EQ(h.emitted()[1].spec_version(), "1.0");  // filled as the runtime fills it
  EXPECT_EQ(h.cursors().at("last"), "b");
  EXPECT_EQ(h.counters().at("echoed"), 2);
  EXPECT_EQ(h.gauges().at("last_id_length"), 1);
  EXPECT_TRUE(h.logged("echoed a"));
  EXPECT_FALSE(h.logged("echoed c"));
  EXPECT_EQ(h.take_emitted().size(), 2u);
  EXPECT_TRUE(h.emitted().empty());
}

TEST(PluginHarnessTest, AnExceptionFromOnEventBecomesRetryLater) {
  PluginHarness<Echo> h;
  h.start();
  const Outcome outcome = h.deliver(make_event("boom"));
  EXPECT_EQ(outcome.kind(), Outcome::Kind::kRetryLater);
  EXPECT_EQ(outcome.reason(), "on_event threw: exploded");
}

TEST(PluginHarnessTest, EmitChecksWhatTheHubWouldRefuseAndCanBeMadeToFail) {
  PluginHarness<Echo> h;
  h.start();
  simpang::v1::Event no_type = make_event("t");
  no_type.clear_type();
  EXPECT_EQ(h.deliver(no_type).kind(), Outcome::Kind::kRetryLater);
  h.fail_next_emits(1);
  EXPECT_EQ(h.deliver(make_event("a")).kind(), Outcome::Kind::kRetryLater);
  EXPECT_EQ(h.deliver(make_event("a")).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(h.emitted().size(), 1u);
}

TEST(PluginHarnessTest, DeliverBeforeStartIsAMistake) {
  PluginHarness<Echo> h;
  EXPECT_THROW(h.deliver(make_event("a")), std::logic_error);
}

TEST(PluginHarnessTest, ConstructorErrorsReachTheTest) {
  try {
    PluginHarness<Echo> h({{"prefix", 7}});
    FAIL() << "expected a ConfigError";
  } catch (const simpang::sdk::ConfigError& e) {
    EXPECT_STREQ(e.what(), "config.prefix: must be a string, got 7");
  }
}

TEST(PluginHarnessTest, TheTemporaryStateDirIsRemovedAndAGivenOneKept) {
  std::filesystem::path temp;
  {
    PluginHarness<Echo> h;
    temp = h.state_dir();
    EXPECT_TRUE(std::filesystem::is_directory(temp));
  }
  EXPECT_FALSE(std::filesystem::exists(temp));

  TempDir mine;
  {
    PluginHarness<Echo> h({}, HarnessOptions{.instance_name = "mine", .state_dir = mine.path()});
    EXPECT_EQ(h.state_dir(), mine.path());
    EXPECT_EQ(h.context().instance_name(), "mine");
  }
  EXPECT_TRUE(std::filesystem::is_directory(mine.path()));
}

// Counts its ticks in a cursor, and remembers the cursor it found when it started.
class CountingSource : public simpang::sdk::Source {
 public:
  explicit CountingSource(Context& ctx) {}
  void on_start(Context& ctx) override {
    found = ctx.cursor("ticks");
    ticks_ = found ? std::stoi(*found) : 0;
    ctx.every(milliseconds(100), [this, &ctx] { ctx.set_cursor("ticks", std::to_string(++ticks_)); });
  }
  std::optional<std::string> found;

 private:
  int ticks_ = 0;
};

TEST(PluginHarnessTest, RestartKeepsCursorsAndForgetsTimers) {
  PluginHarness<CountingSource> h;
  h.start();
  EXPECT_EQ(h.plugin().found, std::nullopt);
  h.advance(milliseconds(300));
  EXPECT_EQ(h.context().scheduled(), 1u);
  h.restart();
  EXPECT_EQ(h.context().scheduled(), 0u);
  EXPECT_EQ(h.plugin().found, std::nullopt);  // a new object, not started yet
  h.start();
  // What the first object stored, read by the second through its own Context::cursor.
  EXPECT_EQ(h.plugin().found, "3");
  h.advance(milliseconds(100));
  EXPECT_EQ(h.cursors().at("ticks"), "4");
}

TEST(PluginHarnessTest, CursorsGivenAsStoredByAnEarlierRunAreSeenAtStart) {
  PluginHarness<CountingSource> h({}, HarnessOptions{.cursors = {{"ticks", "7"}}});
  h.start();
  EXPECT_EQ(h.plugin().found, "7");
}

TEST(PluginHarnessTest, ACallbackThatThrowsIsLoggedNotPropagated) {
  struct Thrower : simpang::sdk::Source {
    explicit Thrower(Context& ctx) {}
    void on_start(Context& ctx) override {
      ctx.after(milliseconds(1), [] { throw std::runtime_error("tick failed"); });
    }
  };
  PluginHarness<Thrower> h;
  h.start();
  EXPECT_NO_THROW(h.advance(milliseconds(5)));
  EXPECT_TRUE(h.logged("scheduled callback threw: tick failed"));
}

}  // namespace
