// Tests of the sim-programme plugin class (plugins/sim-programme/sim_programme.h) in the SDK's
// PluginHarness: config validation, pacing per timer tick, max_events, back-pressure and emit
// failures.
#include "sim_programme.h"

#include <gtest/gtest.h>

#include <string>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/testing.h"

namespace simpang::plugins::sim_programme {
namespace {

using nlohmann::json;
using simpang::sdk::ConfigError;
using simpang::sdk::testing::HarnessOptions;
using simpang::sdk::testing::PluginHarness;
using Harness = PluginHarness<SimProgramme>;

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
  EXPECT_THROW(Harness(json{{"rate", -3}}), ConfigError);
}

TEST(SimProgramme, StartsATimerAndStopsIt) {
  Harness h;  // rate 50: one event per tick
  h.start();
  EXPECT_EQ(h.context().scheduled(), 1u);
  h.advance(SimProgramme::kTick - std::chrono::milliseconds(1));
  EXPECT_TRUE(h.emitted().empty()) << "the first tick comes one interval after start";
  h.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(h.emitted().size(), 1u);
  h.advance(SimProgramme::kTick);
  EXPECT_EQ(h.emitted().size(), 2u) << "the timer repeats every tick";
  h.stop();
  EXPECT_EQ(h.context().scheduled(), 0u);
}

TEST(SimProgramme, EmitsRateTimesTickPerTick) {
  Harness h(json{{"rate", 500}});  // 10 per 20 ms tick
  h.start();
  for (int i = 0; i < 5; ++i) {
    h.advance(SimProgramme::kTick);
    EXPECT_EQ(h.emitted().size(), 10u * (i + 1));
  }
}

TEST(SimProgramme, SlowRatesCarryTheFractionOver) {
  Harness h(json{{"rate", 10}});  // 0.2 per tick: one every fifth tick
  h.start();
  for (int i = 0; i < 500; ++i) {
    h.advance(SimProgramme::kTick);
  }
  EXPECT_EQ(h.emitted().size(), 100u);
}

TEST(SimProgramme, EmitsTheModelsSequence) {
  Harness h(json{{"rate", 250}, {"seed", 5}}, HarnessOptions{.instance_name = "inst"});
  h.start();
  for (int i = 0; i < 20; ++i) {
    h.advance(SimProgramme::kTick);
  }
  ProgrammeModel model({.seed = 5, .source = "/simpang/sim-programme/inst"});
  ASSERT_EQ(h.emitted().size(), 100u);
  for (const auto& e : h.emitted()) {
    EXPECT_EQ(simpang::sdk::to_cloudevents_json(e),
              simpang::sdk::to_cloudevents_json(model.next()));
  }
}

TEST(SimProgramme, StopsAfterMaxEvents) {
  Harness h(json{{"rate", 500}, {"max_events", 25}});
  h.start();
  for (int i = 0; i < 10; ++i) {
    h.advance(SimProgramme::kTick);
  }
  EXPECT_EQ(h.emitted().size(), 25u);
  EXPECT_TRUE(h.plugin().finished());
  EXPECT_EQ(h.context().scheduled(), 0u) << "the timer is cancelled once done";
  EXPECT_EQ(h.emitted().back().id(), "sim-42-25");
}

TEST(SimProgramme, HoldsOffUnderBackPressureWithoutBursting) {
  Harness h(json{{"rate", 50}});  // one per tick
  h.start();
  h.set_backpressured(true);
  for (int i = 0; i < 10; ++i) {
    h.advance(SimProgramme::kTick);
  }
  EXPECT_TRUE(h.emitted().empty());
  h.set_backpressured(false);
  h.advance(std::chrono::milliseconds(0));
  // The postponed tick runs late, then the one due now: one tick's worth each, never the ten
  // missed ticks' worth in one burst.
  EXPECT_EQ(h.emitted().size(), 2u) << "the missed ticks are not made up in one burst";
  h.advance(SimProgramme::kTick);
  EXPECT_EQ(h.emitted().size(), 3u);
}

TEST(SimProgramme, RetriesARefusedEventBeforeAnyNewOne) {
  Harness h(json{{"rate", 50}});
  h.start();
  h.fail_next_emits(2);
  h.advance(SimProgramme::kTick);
  h.advance(SimProgramme::kTick);
  EXPECT_TRUE(h.emitted().empty());
  h.advance(SimProgramme::kTick);
  h.advance(SimProgramme::kTick);
  ASSERT_EQ(h.emitted().size(), 2u);
  EXPECT_EQ(h.emitted()[0].id(), "sim-42-1");
  EXPECT_EQ(h.emitted()[1].id(), "sim-42-2");
  EXPECT_EQ(h.plugin().emitted(), 2u);
}

TEST(SimProgramme, KeepsACursorAndResumesFromIt) {
  std::map<std::string, std::string> stored;
  {
    Harness first(json{{"rate", 500}});
    first.start();
    for (int i = 0; i < 3; ++i) {
      first.advance(SimProgramme::kTick);
    }
    first.stop();
    ASSERT_EQ(first.emitted().size(), 30u);
    EXPECT_EQ(first.cursors().at(SimProgramme::kCursor), "30");
    stored = first.cursors();
  }

  // A restarted instance, handed the cursor the first one stored, replays the model silently and
  // continues.
  Harness second(json{{"rate", 500}, {"max_events", 35}}, HarnessOptions{.cursors = stored});
  second.start();
  for (int i = 0; i < 5; ++i) {
    second.advance(SimProgramme::kTick);
  }
  ASSERT_EQ(second.emitted().size(), 5u) << "max_events counts the earlier run too";
  ProgrammeModel model({.seed = 42, .source = "/simpang/sim-programme/test"});
  for (int i = 0; i < 30; ++i) {
    (void)model.next();
  }
  for (const auto& e : second.emitted()) {
    EXPECT_EQ(simpang::sdk::to_cloudevents_json(e),
              simpang::sdk::to_cloudevents_json(model.next()));
  }
  EXPECT_EQ(second.emitted().front().id(), "sim-42-31");
  EXPECT_TRUE(second.plugin().finished());
}

TEST(SimProgramme, IgnoresAnUnreadableCursor) {
  Harness h(json{{"rate", 50}}, HarnessOptions{.cursors = {{SimProgramme::kCursor, "lots"}}});
  h.start();
  h.advance(SimProgramme::kTick);
  ASSERT_EQ(h.emitted().size(), 1u);
  EXPECT_EQ(h.emitted()[0].id(), "sim-42-1");
  EXPECT_TRUE(h.logged("ignoring unreadable cursor"));
}

}  // namespace
}  // namespace simpang::plugins::sim_programme
