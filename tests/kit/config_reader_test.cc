// Tests of simpang::sdk::ConfigReader: typed values, defaults, nested mappings, unknown keys, and
// the exact messages (they are what an operator reads).
#include "simpang/sdk/config_reader.h"

#include <gtest/gtest.h>

#include "simpang/sdk/testing.h"

namespace {

using simpang::sdk::ConfigError;
using simpang::sdk::ConfigReader;
using std::chrono::milliseconds;

// The message of the ConfigError `f` throws, or "no error".
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigReaderTest, ReadsTypedValuesAndDefaults) {
  const nlohmann::json config = {{"rate", 200},         {"url", "http://x/"}, {"on", true},
                                 {"ratio", 0.5},        {"every", "250ms"},   {"big", 5000000000},
                                 {"names", {"a", "b"}}, {"path", "out.jsonl"}};
  ConfigReader r(config);
  EXPECT_EQ(r.required<int>("rate"), 200);
  EXPECT_EQ(r.required<std::string>("url"), "http://x/");
  EXPECT_TRUE(r.required<bool>("on"));
  EXPECT_DOUBLE_EQ(r.required<double>("ratio"), 0.5);
  EXPECT_DOUBLE_EQ(r.required<double>("rate"), 200.0);  // an integer is a number
  EXPECT_EQ(r.required<milliseconds>("every"), milliseconds(250));
  EXPECT_EQ(r.required<int64_t>("big"), 5000000000);
  EXPECT_EQ(r.required<std::vector<std::string>>("names"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.required<std::filesystem::path>("path"), std::filesystem::path("out.jsonl"));
  EXPECT_EQ(r.optional<int>("missing", 7), 7);
  EXPECT_EQ(r.optional("missing_url", "http://default/"), "http://default/");
  EXPECT_EQ(r.get<int>("missing"), std::nullopt);
  EXPECT_EQ(r.get<int>("rate"), 200);
  EXPECT_NO_THROW(r.reject_unknown());
}

TEST(ConfigReaderTest, WrongTypesNameTheKeyPathAndShowTheValue) {
  const nlohmann::json config = {{"rate", "fast"},     {"n", 2.5},   {"flag", "yes"},   {"neg", -1},
                                 {"huge", 5000000000}, {"d", "5 s"}, {"list", {"a", 1}}};
  ConfigReader r(config);
  EXPECT_EQ(error_of([&] { r.required<int>("rate"); }),
            "config.rate: must be an integer, got \"fast\"");
  EXPECT_EQ(error_of([&] { r.required<int>("n"); }), "config.n: must be an integer, got 2.5");
  EXPECT_EQ(error_of([&] { r.optional<bool>("flag", false); }),
            "config.flag: must be true or false, got \"yes\"");
  EXPECT_EQ(error_of([&] { r.required<uint32_t>("neg"); }),
            "config.neg: must be a non-negative integer from 0 to 4294967295, got -1");
  EXPECT_EQ(error_of([&] { r.required<int>("huge"); }),
            "config.huge: must be an integer from -2147483648 to 2147483647, got 5000000000");
  EXPECT_EQ(
      error_of([&] { r.required<milliseconds>("d"); }),
      "config.d: must be a duration such as \"250ms\", \"5s\", \"2m\" or \"1h\", got \"5 s\"");
  EXPECT_EQ(error_of([&] { r.required<std::vector<std::string>>("list"); }),
            "config.list[1]: must be a string, got 1");
  EXPECT_EQ(error_of([&] { r.required<std::string>("absent"); }),
            "config.absent: required, but missing");
}

TEST(ConfigReaderTest, NestedMappingsCarryTheirPath) {
  const nlohmann::json config = {{"retry", {{"attempts", "three"}, {"backof", "1s"}}},
                                 {"scalar", 3}};
  ConfigReader r(config);
  ConfigReader retry = r.nested("retry");
  EXPECT_EQ(error_of([&] { retry.required<int>("attempts"); }),
            "config.retry.attempts: must be an integer, got \"three\"");
  retry.optional<milliseconds>("backoff", milliseconds(100));
  EXPECT_EQ(error_of([&] { retry.reject_unknown(); }),
            "config.retry.backof: unknown key (known: attempts, backoff)");
  EXPECT_EQ(error_of([&] { r.nested("scalar"); }), "config.scalar: must be a mapping, got 3");
  ConfigReader absent = r.nested("absent");  // a missing mapping reads as an empty one
  EXPECT_EQ(absent.optional<int>("x", 4), 4);
  EXPECT_EQ(absent.path_of("x"), "config.absent.x");
}

TEST(ConfigReaderTest, RejectUnknownNamesTheFirstKeyNotAskedFor) {
  const nlohmann::json config = {{"path", "x"}, {"fsinc", true}};
  ConfigReader r(config);
  r.required<std::string>("path");
  r.optional<bool>("fsync", false);
  EXPECT_EQ(error_of([&] { r.reject_unknown(); }),
            "config.fsinc: unknown key (known: fsync, path)");
  ConfigReader none(config);
  EXPECT_EQ(error_of([&] { none.reject_unknown(); }),
            "config.fsinc: unknown key (this mapping takes no keys)");
}

TEST(ConfigReaderTest, NullIsAnEmptyMappingAndAScalarIsRefused) {
  const nlohmann::json null_config;
  ConfigReader r(null_config);
  EXPECT_EQ(r.optional<int>("x", 1), 1);
  EXPECT_NO_THROW(r.reject_unknown());
  EXPECT_EQ(error_of([] { ConfigReader bad(nlohmann::json(42)); }),
            "config: must be a mapping, got 42");
}

TEST(ConfigReaderTest, ErrorBuildsAValueErrorWithThePath) {
  ConfigReader r(nlohmann::json::object());
  EXPECT_STREQ(r.error("rate", "must be at least 1, got 0").what(),
               "config.rate: must be at least 1, got 0");
}

TEST(ConfigReaderTest, ParseDurationAcceptsTheHubsForms) {
  EXPECT_EQ(simpang::sdk::parse_duration("0ms"), milliseconds(0));
  EXPECT_EQ(simpang::sdk::parse_duration("5s"), milliseconds(5000));
  EXPECT_EQ(simpang::sdk::parse_duration("2m"), milliseconds(120000));
  EXPECT_EQ(simpang::sdk::parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(simpang::sdk::parse_duration("1d"), std::nullopt);
  EXPECT_EQ(simpang::sdk::parse_duration("-1s"), std::nullopt);
  EXPECT_EQ(simpang::sdk::parse_duration("s"), std::nullopt);
  EXPECT_EQ(simpang::sdk::parse_duration("99999999999999999h"), std::nullopt);
}

// The reader in the place it is meant for: a plugin constructor, through the harness.
class RateSource : public simpang::sdk::Source {
 public:
  explicit RateSource(simpang::sdk::Context& ctx) {
    ConfigReader r(ctx.config());
    rate = r.required<int>("rate");
    r.reject_unknown();
  }
  int rate = 0;
};

TEST(ConfigReaderTest, APluginConstructorsErrorReachesTheTestThroughTheHarness) {
  using simpang::sdk::testing::PluginHarness;
  EXPECT_EQ(PluginHarness<RateSource>({{"rate", 5}}).plugin().rate, 5);
  EXPECT_EQ(error_of([] {
              PluginHarness<RateSource> h({{"rate", "fast"}});
            }),
            "config.rate: must be an integer, got \"fast\"");
}

}  // namespace
