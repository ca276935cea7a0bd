// The rules every published event must meet (simpang/base/event_rules.h): one wording per rule,
// the same from the hub's publish check and from the SDK's emit check (sdk/src/event_checks.h).
#include "simpang/base/event_rules.h"
#include "simpang/base/safe_text.h"

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

// What the hub applies to a published event: every rule, on the bytes that arrived.
std::string publish_says(const simpang::v1::Event& e, const EventLimits& limits = EventLimits{}) {
  return check_event(e, e.spec_version(), e.ByteSizeLong(), limits).message();
}

TEST(EventRules, ATypeIsDotSeparatedSegmentsOfLettersDigitsDashAndUnderscore) {
  for (const char* good : {"talent.completion.recorded", "a", "A-b_c.D9", "x.y-z"}) {
    EXPECT_TRUE(check_event_attributes("e-1", "/s", good, "1.0").ok()) << good;
  }
  for (const char* bad : {"not a type!", "a..b", ".a", "a.", "a.*", "talent.**", "t\xc3\xa9"}) {
    EXPECT_FALSE(check_event_attributes("e-1", "/s", bad, "1.0").ok()) << bad;
  }
  EXPECT_EQ(check_event_attributes("e-1", "/s", "not a type!", "1.0").message(),
            "event e-1: type \"not a type!\" is not dot-separated segments of letters, digits, "
            "'-' and '_'");
}

TEST(EventRules, ExtensionNamesFollowCloudEventsNaming) {
  EXPECT_TRUE(check_extension_name("e-1", "traceparent").ok());
  EXPECT_TRUE(check_extension_name("e-1", "tenant2").ok());
  EXPECT_EQ(check_extension_name("e-1", "Bad-Name").message(),
            "event e-1: extension attribute name 'Bad-Name' is not CloudEvents naming (lower-case "
            "a-z and 0-9 only)");
  EXPECT_FALSE(check_extension_name("e-1", "").ok());
  EXPECT_FALSE(check_extension_name("e-1", "data_base64").ok());
  EXPECT_EQ(check_extension_name("e-1", "subject").message(),
            "event e-1: extension attribute name 'subject' is a CloudEvents context attribute");
}

TEST(EventRules, TheLimitsHaveTheirWordings) {
  EventLimits limits;
  limits.max_event_bytes = 2000;
  limits.max_attributes = 2;
  limits.max_attribute_bytes = 100;

  simpang::v1::Event big = valid_event();
  big.set_text_data(std::string(3000, 'x'));
  EXPECT_EQ(publish_says(big, limits), "event e-1: " + std::to_string(big.ByteSizeLong()) +
                                           " bytes is over max_event_bytes (2000)");

  simpang::v1::Event long_subject = valid_event();
  long_subject.set_subject(std::string(101, 's'));
  EXPECT_EQ(publish_says(long_subject, limits),
            "event e-1: attribute 'subject' is 101 bytes, over max_attribute_bytes (100)");

  simpang::v1::Event many = valid_event();
  for (const char* name : {"a", "b", "c"}) {
    (*many.mutable_extensions())[name].set_ce_string("v");
  }
  EXPECT_EQ(publish_says(many, limits),
            "event e-1: 3 extension attributes is over max_attributes (2)");

  simpang::v1::Event long_value = valid_event();
  (*long_value.mutable_extensions())["note"].set_ce_string(std::string(200, 'v'));
  EXPECT_EQ(publish_says(long_value, limits),
            "event e-1: attribute 'note' is 203 bytes, over max_attribute_bytes (100)");

  simpang::v1::Event bad_name = valid_event();
  (*bad_name.mutable_extensions())["Bad-Name"].set_ce_string("v");
  EXPECT_EQ(publish_says(bad_name),
            "event e-1: extension attribute name 'Bad-Name' is not CloudEvents naming (lower-case "
            "a-z and 0-9 only)");

  EXPECT_EQ(check_batch_size(600, 512).message(), "batch of 600 events is over max_batch (512)");
  EXPECT_TRUE(check_batch_size(512, 512).ok());
}

TEST(EventRules, AFullCheckOfAValidEventAllocatesNothing) {
  simpang::v1::Event e = valid_event();
  e.set_subject(std::string(100, 's'));
  (*e.mutable_extensions())["traceparent"].set_ce_string(std::string(100, 't'));
  const size_t bytes = e.ByteSizeLong();
  const EventLimits limits;
  const long before = allocations;
  const Status status = check_event(e, e.spec_version(), bytes, limits);
  const long after = allocations;
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(after - before, 0);
}

TEST(EventRules, AnIdIsQuotedSafelyAndShort) {
  const std::string id = std::string("\xff\x01") + std::string(200, 'i');
  const Status status = check_event_attributes(id, "", "t", "1.0");
  EXPECT_EQ(status.message(),
            "event \\xff\\x01" + std::string(62, 'i') + "...: missing required attribute 'source'");
}

TEST(EventRules, EmitAppliesTheLimitsInThePublishCheckWords) {
  EventLimits limits;
  limits.max_attribute_bytes = 64;
  for (int broken = 0; broken < 3; ++broken) {
    simpang::v1::Event e = valid_event();
    switch (broken) {
      case 0:
        e.set_type("not a type!");
        break;
      case 1:
        (*e.mutable_extensions())["Bad-Name"].set_ce_boolean(true);
        break;
      default:
        e.set_source(std::string(65, 's'));
        break;
    }
    const Status checked = sdk::internal::check_emittable(e, limits);
    ASSERT_FALSE(checked.ok()) << "rule " << broken;
    EXPECT_EQ(checked.message(), publish_says(e, limits)) << "rule " << broken;
  }
  // The harness's context checks with the default limits, as a hub does unless configured.
  simpang::v1::Event huge = valid_event();
  huge.set_binary_data(std::string(EventLimits{}.max_event_bytes, 'x'));
  sdk::testing::FakeContext ctx(nlohmann::json::object(), "test", ".");
  const Status emitted = ctx.emit(huge);
  ASSERT_FALSE(emitted.ok());
  EXPECT_EQ(emitted.message(), "emit: " + publish_says(huge));
}

TEST(EventRules, JsonDepthIsBoundedBeforeAnyParse) {
  EXPECT_TRUE(check_json_depth(R"({"a":[{"b":1}],"c":"[[[[["})", 3).ok());
  EXPECT_EQ(check_json_depth("[[[[1]]]]", 3).message(),
            "JSON nests deeper than max_json_depth (3) levels");
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_TRUE(check_json_depth(R"(["\"[[[[[", "]]]]"])", 2).ok());
  const std::string deep(1000000, '[');
  EXPECT_FALSE(check_json_depth(deep, 64).ok());
}

TEST(SafeText, KeepsPrintableUtf8AndEscapesTheRest) {
  EXPECT_EQ(safe_text("sink-a"), "sink-a");
  EXPECT_EQ(safe_text("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(safe_text(std::string("\x00k\x8b", 3)), "\\x00k\\x8b");
  EXPECT_EQ(safe_text("a\\b\nc"), "a\\\\b\\x0ac");
  EXPECT_EQ(safe_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate is not UTF-8
  EXPECT_EQ(safe_text("\xc2\x85"), "\\xc2\\x85");          // a C1 control
  EXPECT_EQ(safe_text(std::string(300, 'x')), std::string(256, 'x') + "...");
  EXPECT_TRUE(is_valid_utf8(safe_text(std::string("\xff\xfe\xc3", 3))));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_utf8("\xc0\x80"));  // an overlong NUL
}

}  // namespace
}  // namespace simpang
