// Tests of transform-credential: the pure decision
// (plugins/transform-credential/credential_logic.h) and the plugin class settling deliveries
// in the SDK's PluginHarness.
#include "credential_logic.h"

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <string>

#include "credential_transform.h"
#include "programme_model.h"
#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/testing.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::transform_credential {
namespace {

namespace talent = simpang::talent::v1;
using google::protobuf::util::TimeUtil;
using nlohmann::json;
using simpang::sdk::ConfigError;
using simpang::sdk::Outcome;
using simpang::sdk::testing::HarnessOptions;
using simpang::sdk::testing::PluginHarness;
using Harness = PluginHarness<CredentialTransform>;
using simpang::v1::Event;

Event completion_event(bool passed, bool certification) {
  talent::Completion c;
  c.set_enrollment_id("enr-9");
  c.set_person_id("person-1");
  c.set_course_id("course-ml");
  c.set_score(passed ? 81.5 : 41);
  c.set_passed(passed);
  c.set_certification(certification);
  *c.mutable_completed_at() = TimeUtil::SecondsToTimestamp(1736150400);
  Event e;
  e.set_id("evt-77");
  e.set_source("/lms");
  e.set_spec_version("1.0");
  e.set_type("talent.completion.recorded");
  e.set_subject("person-1");
  *e.mutable_time() = TimeUtil::SecondsToTimestamp(1736150500);
  simpang::sdk::set_json_data(e, c);
  return e;
}

CredentialConfig config() {
  CredentialConfig c;
  c.source = "/simpang/transform-credential/creds";
  return c;
}

TEST(CredentialFor, IssuesForPassedCertificationCompletion) {
  const auto out = credential_for(completion_event(true, true), config());
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_TRUE(out->has_value());
  const Event& e = **out;
  EXPECT_EQ(e.id(), "cred-evt-77");
  EXPECT_EQ(e.type(), "talent.credential.issued");
  EXPECT_EQ(e.source(), "/simpang/transform-credential/creds");
  EXPECT_EQ(e.spec_version(), "1.0");
  EXPECT_EQ(e.subject(), "person-1");
  EXPECT_EQ(TimeUtil::ToString(e.time()), "2025-01-06T08:00:00Z");
  EXPECT_EQ(e.data_schema(), "proto:simpang.talent.v1.Credential");

  talent::Credential cred;
  const Status s = simpang::sdk::get_json_data(e, cred);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(cred.credential_id(), "cred-evt-77");
  EXPECT_EQ(cred.person_id(), "person-1");
  EXPECT_EQ(cred.course_id(), "course-ml");
  EXPECT_EQ(cred.kind(), talent::CREDENTIAL_KIND_CERTIFICATION);
  EXPECT_EQ(cred.name(), "Certified: course-ml");
  EXPECT_TRUE(cred.issuer_id().empty());
  EXPECT_EQ(TimeUtil::ToString(cred.issued_at()), "2025-01-06T08:00:00Z");
  EXPECT_FALSE(cred.has_expires_at());
}

TEST(CredentialFor, RedeliveryYieldsTheSameEvent) {
  const auto a = credential_for(completion_event(true, true), config());
  const auto b = credential_for(completion_event(true, true), config());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(simpang::sdk::to_cloudevents_json(**a), simpang::sdk::to_cloudevents_json(**b));
}

TEST(CredentialFor, NothingForFailedOrNonCertificationOrOtherEvents) {
  for (const auto& [passed, certification] :
       {std::pair{false, true}, std::pair{true, false}, std::pair{false, false}}) {
    const auto out = credential_for(completion_event(passed, certification), config());
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_FALSE(out->has_value());
  }
  Event other = completion_event(true, true);
  other.set_type("talent.enrollment.created");
  other.set_text_data("not even json");  // not looked at: not a completion
  const auto out = credential_for(other, config());
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->has_value());
}

TEST(CredentialFor, ErrorsForUnusableCompletions) {
  Event garbage = completion_event(true, true);
  garbage.set_text_data("{\"passed\": \"very\"}");
  auto out = credential_for(garbage, config());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("simpang.talent.v1.Completion"), std::string::npos)
      << out.status().message();

  Event binary = completion_event(true, true);
  binary.set_binary_data("\x01");
  EXPECT_FALSE(credential_for(binary, config()).ok());

  talent::Completion anonymous;
  anonymous.set_course_id("c");
  anonymous.set_passed(true);
  anonymous.set_certification(true);
  Event e = completion_event(true, true);
  simpang::sdk::set_json_data(e, anonymous);
  out = credential_for(e, config());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("personId"), std::string::npos) << out.status().message();
}

TEST(CredentialFor, IssuedAtFallsBackToTheEventTime) {
  talent::Completion c;
  c.set_person_id("p");
  c.set_course_id("c");
  c.set_passed(true);
  c.set_certification(true);
  Event e = completion_event(true, true);
  simpang::sdk::set_json_data(e, c);
  const auto out = credential_for(e, config());
  ASSERT_TRUE(out.ok() && out->has_value());
  talent::Credential cred;
  ASSERT_TRUE(simpang::sdk::get_json_data(**out, cred).ok());
  EXPECT_EQ(TimeUtil::ToString(cred.issued_at()), "2025-01-06T08:01:40Z");
}

TEST(CredentialFor, NameTemplateAndIssuer) {
  CredentialConfig c = config();
  c.name_template = "{{AI}} {course_id} for {person_id} ({enrollment_id})";
  c.issuer_id = "org-7";
  const auto out = credential_for(completion_event(true, true), c);
  ASSERT_TRUE(out.ok() && out->has_value());
  talent::Credential cred;
  ASSERT_TRUE(simpang::sdk::get_json_data(**out, cred).ok());
  EXPECT_EQ(cred.name(), "{AI} course-ml for person-1 (enr-9)");
  EXPECT_EQ(cred.issuer_id(), "org-7");
}

TEST(CheckNameTemplate, RejectsBadTemplates) {
  EXPECT_TRUE(check_name_template("Certified: {course_id}").ok());
  EXPECT_TRUE(check_name_template("no placeholders").ok());
  EXPECT_NE(check_name_template("{course}").message().find("unknown placeholder {course}"),
            std::string::npos);
  EXPECT_NE(check_name_template("{course_id").message().find("unclosed '{'"), std::string::npos);
  EXPECT_NE(check_name_template("a}b").message().find("unmatched '}'"), std::string::npos);
}

TEST(CredentialFor, OverASimulatedRunOneCredentialPerCertifiedPass) {
  sim_programme::ProgrammeModel model({.seed = 42});
  int certified_passes = 0, credentials = 0;
  for (int i = 0; i < 20000; ++i) {
    const Event e = model.next();
    const auto out = credential_for(e, config());
    ASSERT_TRUE(out.ok()) << e.id() << ": " << out.status().message();
    if (e.type() == "talent.completion.recorded") {
      talent::Completion c;
      ASSERT_TRUE(simpang::sdk::get_json_data(e, c).ok());
      certified_passes += c.passed() && c.certification();
    }
    if (out->has_value()) {
      ++credentials;
      EXPECT_EQ((*out)->subject(), e.subject());
      EXPECT_EQ((*out)->id(), "cred-" + e.id());
    }
  }
  EXPECT_GT(credentials, 100);
  EXPECT_EQ(credentials, certified_passes);
}

// ---- The plugin class ---------------------------------------------------------------------------

TEST(CredentialTransform, EmitsThenAcks) {
  Harness h(json::object(), HarnessOptions{.instance_name = "creds"});
  h.start();
  EXPECT_EQ(h.deliver(completion_event(true, true)).kind(), Outcome::Kind::kAck);
  ASSERT_EQ(h.emitted().size(), 1u);
  EXPECT_EQ(h.emitted()[0].id(), "cred-evt-77");
  EXPECT_EQ(h.emitted()[0].source(), "/simpang/transform-credential/creds");
}

TEST(CredentialTransform, AcksOthersRejectsGarbageRetriesFailedEmit) {
  Harness h(json{{"credential_name", "AI cert {course_id}"}},
            HarnessOptions{.instance_name = "creds"});
  h.start();
  EXPECT_EQ(h.deliver(completion_event(false, true)).kind(), Outcome::Kind::kAck);

  Event garbage = completion_event(true, true);
  garbage.set_text_data("[");
  const Outcome rejected = h.deliver(garbage);
  EXPECT_EQ(rejected.kind(), Outcome::Kind::kReject);
  EXPECT_FALSE(rejected.reason().empty());

  h.fail_next_emits(1);
  const Outcome retry = h.deliver(completion_event(true, true));
  EXPECT_EQ(retry.kind(), Outcome::Kind::kRetryLater);
  EXPECT_NE(retry.reason().find("cred-evt-77"), std::string::npos) << retry.reason();
  EXPECT_TRUE(h.emitted().empty());
}

TEST(CredentialTransform, ConfigErrors) {
  const auto error = [](const json& config) {
    try {
      Harness h(config, HarnessOptions{.instance_name = "creds"});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error(json{{"credential_name", 5}}), "config.credential_name: must be a string, got 5");
  EXPECT_EQ(error(json{{"credential_name", ""}}), "config.credential_name: must not be empty");
  EXPECT_EQ(error(json{{"credential_name", "{bad}"}}),
            "config.credential_name: unknown placeholder {bad} (known: {course_id}, {person_id}, "
            "{enrollment_id})");
  EXPECT_EQ(error(json{{"issuer", "x"}}).rfind("config.issuer: unknown key", 0), 0u);
}

}  // namespace
}  // namespace simpang::plugins::transform_credential
