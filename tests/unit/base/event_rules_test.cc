// The rules every published event must meet (simpang/base/event_rules.h): one wording per rule,
// the same from the hub's publish check and from the SDK's emit check (sdk/src/event_checks.h).
#include "simpang/base/event_rules.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>

#include "event_checks.h"
#include "simpang/sdk/testing.h"
#include "simpang/v1/event.pb.h"

// Counts this thread's allocations, so a test can show that checking a valid event allocates
// nothing: the hub checks every published event.
namespace {
thread_local long allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

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

TEST(EventRules, AValidEventIsCheckedWithoutAllocating) {
  // Longer than any short-string buffer, so a copy would have to allocate.
  const std::string id(100, 'i'), source(100, 's'), type(100, 't');
  const long before = allocations;
  const Status status = check_event_attributes(id, source, type, "1.0");
  const long after = allocations;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(after - before, 0);
  // The counter does count: an error's message is allocated.
  const long before_error = allocations;
  const Status refused = check_event_attributes(id, "", type, "1.0");
  EXPECT_FALSE(refused.ok());
  EXPECT_GT(allocations - before_error, 0);
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
    const Status checked = sdk::internal::check_emittable(e);
    ASSERT_FALSE(checked.ok()) << "rule " << broken;
    EXPECT_EQ(checked.message(), hub_says(e)) << "rule " << broken;
    // And what a plugin sees from emit(), here from the test kit's context, which checks as the
    // runtime does.
    sdk::testing::FakeContext ctx(nlohmann::json::object(), "test", ".");
    const Status emitted = ctx.emit(e);
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
