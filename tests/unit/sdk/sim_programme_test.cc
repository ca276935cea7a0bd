// Tests of the sim-programme plugin class (plugins/sim-programme/sim_programme.h) against a fake
// Context: config validation, pacing per timer tick, max_events, back-pressure and emit failures.
#include "sim_programme.h"

#include <gtest/gtest.h>

#include <string>

#include "fake_context.h"
#include "simpang/sdk/cloudevents.h"

namespace simpang::plugins::sim_programme {
namespace {

using nlohmann::json;
using simpang::sdk::ConfigError;
using simpang::testing::FakeContext;

std::string config_error(const json& config) {
  try {
    (void)parse_config(config, "sim");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted " << config.dump();
  return {};
}

TEST(SimProgrammeConfig, Defaults) {
  const SimConfig c = parse_config(json::object(), "demo");
  EXPECT_EQ(c.model.seed, 42u);
  EXPECT_EQ(c.rate, 50);
  EXPECT_EQ(c.max_events, 0u);
  EXPECT_EQ(c.model.learners, 10000u);
  EXPECT_EQ(c.model.partners, 200u);
  EXPECT_EQ(c.model.courses, 40u);
  EXPECT_EQ(c.model.source, "/simpang/sim-programme/demo");
}

TEST(SimProgrammeConfig, ReadsEveryKey) {
  const SimConfig c = parse_config(json{{"seed", 7},
                                        {"rate", 2.5},
                                        {"max_events", 100},
                                        {"learners", 500},
                                        {"partners", 20},
                                        {"courses", 5.0}},
                                   "demo");
  EXPECT_EQ(c.model.seed, 7u);
  EXPECT_EQ(c.rate, 2.5);
  EXPECT_EQ(c.max_events, 100u);
  EXPECT_EQ(c.model.learners, 500u);
  EXPECT_EQ(c.model.partners, 20u);
  EXPECT_EQ(c.model.courses, 5u);
}

TEST(SimProgrammeConfig, RejectsBadValuesNamingTheKey) {
  EXPECT_EQ(config_error(json{{"rate", -3}}), "config.rate: must be a positive number, got -3");
  EXPECT_EQ(config_error(json{{"rate", 0}}), "config.rate: must be a positive number, got 0");
  EXPECT_EQ(config_error(json{{"rate", "fast"}}),
            "config.rate: must be a positive number, got \"fast\"");
  EXPECT_EQ(config_error(json{{"seed", -1}}),
            "config.seed: must be an integer from 0 to 18446744073709551615, got -1");
  EXPECT_EQ(config_error(json{{"learners", 0}}),
            "config.learners: must be an integer from 1 to 10000000, got 0");
  EXPECT_EQ(config_error(json{{"partners", 1.5}}),
            "config.partners: must be an integer from 1 to 100000, got 1.5");
  EXPECT_EQ(config_error(json{{"courses", nullptr}}),
            "config.courses: must be an integer from 1 to 100000, got null");
  EXPECT_EQ(config_error(json{{"max_events", "10"}}).rfind("config.max_events: ", 0), 0u);
  EXPECT_EQ(config_error(json{{"sead", 1}}).rfind("config.sead: unknown key", 0), 0u);
  EXPECT_EQ(config_error(json::array()).rfind("config: must be a mapping", 0), 0u);
}

TEST(SimProgrammeConfig, ConstructorThrowsConfigError) {
  FakeContext ctx(json{{"rate", -3}});
  EXPECT_THROW(SimProgramme plugin(ctx), ConfigError);
}

TEST(SimProgramme, StartsATimerAndStopsIt) {
  FakeContext ctx;
  SimProgramme plugin(ctx);
  plugin.on_start(ctx);
  ASSERT_EQ(ctx.timers.size(), 1u);
  EXPECT_EQ(ctx.timers.begin()->second.interval, SimProgramme::kTick);
  EXPECT_TRUE(ctx.timers.begin()->second.repeating);
  plugin.on_stop(ctx);
  EXPECT_TRUE(ctx.timers.empty());
}

TEST(SimProgramme, EmitsRateTimesTickPerTick) {
  FakeContext ctx(json{{"rate", 500}});  // 10 per 20 ms tick
  SimProgramme plugin(ctx);
  plugin.on_start(ctx);
  for (int i = 0; i < 5; ++i) {
    ctx.fire_timers();
    EXPECT_EQ(ctx.emitted.size(), 10u * (i + 1));
  }
}

TEST(SimProgramme, SlowRatesCarryTheFractionOver) {
  FakeContext ctx(json{{"rate", 10}});  // 0.2 per tick: one every fifth tick
  SimProgramme plugin(ctx);
  plugin.on_start(ctx);
  for (int i = 0; i < 500; ++i) {
    ctx.fire_timers();
  }
  EXPECT_EQ(ctx.emitted.size(), 100u);
}

TEST(SimProgramme, EmitsTheModelsSequence) {
  FakeContext ctx(json{{"rate", 250}, {"seed", 5}}, "inst");
  SimProgramme plugin(ctx);
  plugin.on_start(ctx);
  for (int i = 0; i < 20; ++i) {
    ctx.fire_timers();
  }
  ProgrammeModel model({.seed = 5, .source = "/simpang/sim-programme/inst"});
  ASSERT_EQ(ctx.emitted.size(), 100u);
  for (const auto& e : ctx.emitted) {
    EXPECT_EQ(simpang::sdk::to_cloudevents_json(e),
              simpang::sdk::to_cloudevents_json(model.next()));
  }
}

TEST(SimProgramme, StopsAfterMaxEvents) {
  FakeContext ctx(json{{"rate", 500}, {"max_events", 25}});
  SimProgramme plugin(ctx);
  plugin.on_start(ctx);
  for (int i = 0; i < 10; ++i) {
    ctx.fire_timers();
  }
  EXPECT_EQ(ctx.emitted.size(), 25u);
  EXPECT_TRUE(plugin.finished());
  EXPECT_TRUE(ctx.timers.empty()) << "the timer is cancelled once done";
  EXPECT_EQ(ctx.emitted.back().id(), "sim-42-25");
}

TEST(SimProgramme, HoldsOffUnderBackPressureWithoutBursting) {
  FakeContext ctx(json{{"rate", 50}});  // one per tick
  SimProgramme plugin(ctx);
  plugin.on_start(ctx);
  ctx.backpressure = true;
  for (int i = 0; i < 10; ++i) {
    ctx.fire_timers();
  }
  EXPECT_TRUE(ctx.emitted.empty());
  ctx.backpressure = false;
  ctx.fire_timers();
  EXPECT_EQ(ctx.emitted.size(), 1u) << "the missed ticks are not made up in one burst";
}

TEST(SimProgramme, RetriesARefusedEventBeforeAnyNewOne) {
  FakeContext ctx(json{{"rate", 50}});
  SimProgramme plugin(ctx);
  plugin.on_start(ctx);
  ctx.fail_emits = 2;
  ctx.fire_timers();
  ctx.fire_timers();
  EXPECT_TRUE(ctx.emitted.empty());
  ctx.fire_timers();
  ctx.fire_timers();
  ASSERT_EQ(ctx.emitted.size(), 2u);
  EXPECT_EQ(ctx.emitted[0].id(), "sim-42-1");
  EXPECT_EQ(ctx.emitted[1].id(), "sim-42-2");
  EXPECT_EQ(plugin.emitted(), 2u);
}

TEST(SimProgramme, KeepsACursorAndResumesFromIt) {
  FakeContext first(json{{"rate", 500}});
  {
    SimProgramme plugin(first);
    plugin.on_start(first);
    for (int i = 0; i < 3; ++i) {
      first.fire_timers();
    }
    plugin.on_stop(first);
  }
  ASSERT_EQ(first.emitted.size(), 30u);
  EXPECT_EQ(first.cursors.at(SimProgramme::kCursor), "30");

  // A restarted instance, handed the stored cursor, replays the model silently and continues.
  FakeContext second(json{{"rate", 500}, {"max_events", 35}});
  second.cursors = first.cursors;
  SimProgramme plugin(second);
  plugin.on_start(second);
  for (int i = 0; i < 5; ++i) {
    second.fire_timers();
  }
  ASSERT_EQ(second.emitted.size(), 5u) << "max_events counts the earlier run too";
  ProgrammeModel model({.seed = 42, .source = "/simpang/sim-programme/test"});
  for (int i = 0; i < 30; ++i) {
    (void)model.next();
  }
  for (const auto& e : second.emitted) {
    EXPECT_EQ(simpang::sdk::to_cloudevents_json(e),
              simpang::sdk::to_cloudevents_json(model.next()));
  }
  EXPECT_EQ(second.emitted.front().id(), "sim-42-31");
  EXPECT_TRUE(plugin.finished());
}

TEST(SimProgramme, IgnoresAnUnreadableCursor) {
  FakeContext ctx(json{{"rate", 50}});
  ctx.cursors[SimProgramme::kCursor] = "lots";
  SimProgramme plugin(ctx);
  plugin.on_start(ctx);
  ctx.fire_timers();
  ASSERT_EQ(ctx.emitted.size(), 1u);
  EXPECT_EQ(ctx.emitted[0].id(), "sim-42-1");
}

}  // namespace
}  // namespace simpang::plugins::sim_programme
