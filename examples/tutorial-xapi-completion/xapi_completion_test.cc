// Tests of xapi-completion: the class through PluginHarness, then the .so in a real hub.
#include "xapi_completion.h"

#include <gtest/gtest.h>
#include <simpang/sdk/cloudevents.h>
#include <simpang/sdk/testing.h>
#include <simpang/talent/v1/talent.pb.h>

#include <set>

namespace {

using simpang::sdk::Outcome;
using simpang::sdk::testing::HubFixture;
using simpang::sdk::testing::PluginHarness;

const nlohmann::json kConfig = {{"course_prefix", "https://lms.example.org/course/"},
                                {"certification_courses", {"ai-301"}}};

simpang::v1::Event statement(const std::string& id, const std::string& verb,
                             const std::string& course, double scaled = 0.9) {
  const nlohmann::json data = {{"actor", {{"account", {{"name", "person-42"}}}}},
                               {"verb", {{"id", "http://adlnet.gov/expapi/verbs/" + verb}}},
                               {"object", {{"id", "https://lms.example.org/course/" + course}}},
                               {"result", {{"score", {{"scaled", scaled}}}}},
                               {"timestamp", "2024-05-01T10:00:00Z"}};
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source("/lrs/moodle");
  event.set_type(tutorial::kStatementType);
  event.set_spec_version("1.0");
  event.set_data_content_type("application/json");
  event.set_text_data(data.dump());
  return event;
}

TEST(XapiCompletionTest, APassedStatementBecomesACompletion) {
  PluginHarness<tutorial::XapiCompletion> h(kConfig);
  h.start();
  ASSERT_EQ(h.deliver(statement("s1", "passed", "ai-301")).kind(), Outcome::Kind::kAck);
  ASSERT_EQ(h.emitted().size(), 1u);
  const simpang::v1::Event& out = h.emitted()[0];
  EXPECT_EQ(out.id(), "xapi-s1");
  EXPECT_EQ(out.type(), "talent.completion.recorded");
  EXPECT_EQ(out.subject(), "person-42");
  simpang::talent::v1::Completion completion;
  ASSERT_TRUE(simpang::sdk::get_json_data(out, completion).ok());
  EXPECT_EQ(completion.course_id(), "ai-301");
  EXPECT_DOUBLE_EQ(completion.score(), 90.0);
  EXPECT_TRUE(completion.passed());
  EXPECT_TRUE(completion.certification());
}

TEST(XapiCompletionTest, OtherVerbsAndTypesAreAckedWithoutOutput) {
  PluginHarness<tutorial::XapiCompletion> h(kConfig);
  h.start();
  EXPECT_EQ(h.deliver(statement("s1", "attempted", "ai-101")).kind(), Outcome::Kind::kAck);
  simpang::v1::Event other = statement("s2", "passed", "ai-101");
  other.set_type("talent.person.registered");
  EXPECT_EQ(h.deliver(other).kind(), Outcome::Kind::kAck);
  EXPECT_TRUE(h.emitted().empty());
}

TEST(XapiCompletionTest, AStatementItCannotReadIsRejectedWithTheReason) {
  PluginHarness<tutorial::XapiCompletion> h(kConfig);
  h.start();
  const Outcome outcome = h.deliver(statement("s1", "passed", ""));
  EXPECT_EQ(outcome.kind(), Outcome::Kind::kReject);
  EXPECT_EQ(outcome.reason(),
            "object.id 'https://lms.example.org/course/' is not a course under "
            "'https://lms.example.org/course/'");
}

TEST(XapiCompletionTest, ItAsksForARetryWhenItCannotPublish) {
  PluginHarness<tutorial::XapiCompletion> h(kConfig);
  h.start();
  h.fail_next_emits(1);
  EXPECT_EQ(h.deliver(statement("s1", "completed", "ai-101")).kind(), Outcome::Kind::kRetryLater);
}

TEST(XapiCompletionTest, TheCoursePrefixIsRequired) {
  try {
    PluginHarness<tutorial::XapiCompletion> h({{"certification_courses", "ai-301"}});
    FAIL() << "expected a ConfigError";
  } catch (const simpang::sdk::ConfigError& e) {
    EXPECT_STREQ(e.what(), "config.course_prefix: required, but missing");
  }
}

TEST(XapiCompletionTest, RunsInARealHub) {
  HubFixture hub({.plugin = PLUGIN_PATH, .kind = SIMPANG_KIND_TRANSFORM, .config = kConfig});
  hub.start();
  hub.feed({statement("s1", "passed", "ai-301"), statement("s2", "failed", "ai-101", 0.3)});
  std::set<std::string> ids;
  for (const auto& event : hub.wait_for_output(2)) {
    ids.insert(event.id());
  }
  EXPECT_EQ(ids, (std::set<std::string>{"xapi-s1", "xapi-s2"}));
  EXPECT_EQ(hub.stop(), 0) << hub.log();
}

}  // namespace
