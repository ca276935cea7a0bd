// The rules every published event must meet (simpang/base/event_rules.h): one wording per rule,
// the same from the hub's publish check and from the SDK's emit check (sdk/src/event_checks.h).
#include "simpang/base/event_rules.h"

#include <gtest/gtest.h>

#include <string>

#include "event_checks.h"
#include "simpang/v1/event.pb.h"

namespace simpang {
namespace {

simpang::v1::Event valid_event() {
  simpang::v1::Event e;
  e.set_id("e-1");
  e.set_source("/test");
  e.set_type("test.thing.happened");
  e.set_spec_version("1.0");
  return e;
}

std::string hub_says(const simpang::v1::Event& e) {
  return check_event_attributes(e.id(), e.source(), e.type(), e.spec_version()).message();
}

TEST(EventRules, AValidEventPasses) {
  const simpang::v1::Event e = valid_event();
  EXPECT_TRUE(check_event_attributes(e.id(), e.source(), e.type(), e.spec_version()).ok());
  EXPECT_TRUE(sdk::internal::check_emittable(e).ok());
}

TEST(EventRules, EachRuleHasItsWording) {
  simpang::v1::Event e = valid_event();
  e.clear_id();
  EXPECT_EQ(hub_says(e), "missing required attribute 'id'");
  e = valid_event();
  e.clear_source();
  EXPECT_EQ(hub_says(e), "event e-1: missing required attribute 'source'");
  e = valid_event();
  e.clear_type();
  EXPECT_EQ(hub_says(e), "event e-1: missing required attribute 'type'");
  e = valid_event();
  e.set_spec_version("0.3");
  EXPECT_EQ(hub_says(e), "event e-1: specversion must be \"1.0\", got \"0.3\"");
  e.clear_spec_version();
  EXPECT_EQ(hub_says(e), "event e-1: specversion must be \"1.0\", got \"\"");
}

TEST(EventRules, TheFirstBrokenRuleIsTheOneReported) {
  simpang::v1::Event e;
  EXPECT_EQ(hub_says(e), "missing required attribute 'id'");
  e.set_id("e-2");
  EXPECT_EQ(hub_says(e), "event e-2: missing required attribute 'source'");
}

TEST(EventRules, EmitSaysWhatThePublishCheckSays) {
  for (int broken = 0; broken < 4; ++broken) {
    simpang::v1::Event e = valid_event();
    switch (broken) {
      case 0:
        e.clear_id();
        break;
      case 1:
        e.clear_source();
        break;
      case 2:
        e.clear_type();
        break;
      default:
        e.set_spec_version("2.0");
        break;
    }
    const Status emitted = sdk::internal::check_emittable(e);
    ASSERT_FALSE(emitted.ok()) << "rule " << broken;
    EXPECT_EQ(emitted.message(), "emit: " + hub_says(e)) << "rule " << broken;
  }
}

TEST(EventRules, EmitAcceptsAnEmptySpecVersionItWillFill) {
  simpang::v1::Event e = valid_event();
  e.clear_spec_version();
  EXPECT_TRUE(sdk::internal::check_emittable(e).ok());
}

}  // namespace
}  // namespace simpang
