// `match.type` patterns: what matches what, and what is rejected with which message.
#include "simpang/base/type_pattern.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "router/route_table.h"

namespace simpang::hub {
namespace {

struct MatchCase {
  std::string pattern;
  std::string type;
  bool matches;
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) {
  return os << '"' << c.pattern << "\" " << (c.matches ? "matches" : "does not match") << " \""
            << c.type << '"';
}

class TypePatternMatchTest : public testing::TestWithParam<MatchCase> {};

TEST_P(TypePatternMatchTest, Matches) {
  const MatchCase& c = GetParam();
  StatusOr<TypePattern> pattern = TypePattern::compile(c.pattern);
  ASSERT_TRUE(pattern.ok()) << pattern.status().message();
  EXPECT_EQ(pattern->matches(c.type), c.matches) << c;
}

INSTANTIATE_TEST_SUITE_P(
    Literal, TypePatternMatchTest,
    testing::Values(MatchCase{"talent.completion.recorded", "talent.completion.recorded", true},
                    MatchCase{"talent.completion.recorded", "talent.completion", false},
                    MatchCase{"talent.completion.recorded", "talent.completion.recorded.x", false},
                    MatchCase{"talent.completion.recorded", "talent.completion.recordedx", false},
                    MatchCase{"talent", "talent", true}, MatchCase{"talent", "", false},
                    MatchCase{"a?c", "a?c", true}, MatchCase{"a?c", "abc", false}));

INSTANTIATE_TEST_SUITE_P(
    OneSegment, TypePatternMatchTest,
    testing::Values(MatchCase{"talent.completion.*", "talent.completion.recorded", true},
                    MatchCase{"talent.completion.*", "talent.completion", false},
                    MatchCase{"talent.completion.*", "talent.completion.a.b", false},
                    MatchCase{"talent.*.recorded", "talent.completion.recorded", true},
                    MatchCase{"talent.*.recorded", "talent.recorded", false},
                    MatchCase{"talent.*.recorded", "talent.a.b.recorded", false},
                    MatchCase{"*", "talent", true}, MatchCase{"*", "talent.x", false},
                    MatchCase{"*.*", "a.b", true}, MatchCase{"*.*", "a", false},
                    MatchCase{"*.*", "a.b.c", false}));

INSTANTIATE_TEST_SUITE_P(
    AnySegments, TypePatternMatchTest,
    testing::Values(
        MatchCase{"talent.**", "talent", true}, MatchCase{"talent.**", "talent.x", true},
        MatchCase{"talent.**", "talent.x.y", true}, MatchCase{"talent.**", "talentx", false},
        MatchCase{"talent.**", "other.talent", false},
        MatchCase{"**.recorded", "a.b.recorded", true}, MatchCase{"**.recorded", "recorded", true},
        MatchCase{"**.recorded", "a.recorded.b", false},
        MatchCase{"**.recorded", "a.xrecorded", false}, MatchCase{"a.**.z", "a.z", true},
        MatchCase{"a.**.z", "a.b.z", true}, MatchCase{"a.**.z", "a.b.c.z", true},
        MatchCase{"a.**.z", "a", false}, MatchCase{"a.**.z", "z", false},
        MatchCase{"a.**.z", "a.b.c", false}, MatchCase{"a.**.z", "a.z.z", true},
        MatchCase{"a.**.z", "a.z.b", false}, MatchCase{"**", "anything.at.all", true},
        MatchCase{"**", "", true}, MatchCase{"**.**", "x", true}));

INSTANTIATE_TEST_SUITE_P(
    Mixed, TypePatternMatchTest,
    testing::Values(MatchCase{"**.*", "a", true}, MatchCase{"**.*", "a.b.c", true},
                    MatchCase{"*.**", "a", true}, MatchCase{"*.**.*", "a", false},
                    MatchCase{"*.**.*", "a.b", true}, MatchCase{"*.**.*", "a.b.c.d", true},
                    MatchCase{"a.**.b.**.c", "a.b.c", true},
                    MatchCase{"a.**.b.**.c", "a.x.b.y.b.z.c", true},
                    MatchCase{"a.**.b.**.c", "a.x.y.c", false},
                    MatchCase{"a.**.b.*", "a.b.b.b", true}, MatchCase{"a.**.b.*", "a.b.x.y", false},
                    MatchCase{"**.b.*.d", "b.x.d.b.y.d", true}));

// Malformed event types are matched as written: empty segments match wildcards, never literals.
INSTANTIATE_TEST_SUITE_P(MalformedTypes, TypePatternMatchTest,
                         testing::Values(MatchCase{"a.*.b", "a..b", true},
                                         MatchCase{"a.b", "a..b", false},
                                         MatchCase{"a.**", "a.", true}, MatchCase{"*", "", true},
                                         MatchCase{"a.*", "a.", true},
                                         MatchCase{"a", "a.", false}));

struct InvalidCase {
  std::string pattern;
  std::string message;  // expected to appear in the error
};

std::ostream& operator<<(std::ostream& os, const InvalidCase& c) {
  return os << '"' << c.pattern << '"';
}

class TypePatternInvalidTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(TypePatternInvalidTest, RejectedWithMessage) {
  const InvalidCase& c = GetParam();
  Status status = validate_type_pattern(c.pattern);
  ASSERT_FALSE(status.ok()) << c;
  EXPECT_NE(status.message().find(c.message), std::string::npos)
      << c << " gave: " << status.message();
  EXPECT_FALSE(TypePattern::compile(c.pattern).ok());
}

INSTANTIATE_TEST_SUITE_P(
    All, TypePatternInvalidTest,
    testing::Values(InvalidCase{"", "type pattern is empty"},
                    InvalidCase{"a..b", "type pattern \"a..b\": segment 2 is empty"},
                    InvalidCase{".a", "type pattern \".a\": segment 1 is empty"},
                    InvalidCase{"a.", "type pattern \"a.\": segment 2 is empty"},
                    InvalidCase{".", "segment 1 is empty"},
                    InvalidCase{"comp*",
                                "segment 1 \"comp*\" mixes '*' with other characters; wildcards "
                                "must be whole segments"},
                    InvalidCase{"talent.*completion", "segment 2 \"*completion\""},
                    InvalidCase{"a.b*c.d", "wildcards must be whole segments"},
                    InvalidCase{"a.***", "segment 2 \"***\" is not a wildcard"},
                    InvalidCase{"****", "is not a wildcard"}));

TEST(TypePatternValidateTest, AcceptsValidPatterns) {
  for (const char* pattern : {"talent.completion.recorded", "*", "**", "talent.*", "talent.**",
                              "**.recorded", "a.**.z", "a?b.c-d_e", "com.example.Order Created"}) {
    Status status = validate_type_pattern(pattern);
    EXPECT_TRUE(status.ok()) << pattern << ": " << status.message();
  }
}

TEST(TypePatternTest, EverythingPatterns) {
  EXPECT_TRUE(TypePattern::compile("**")->matches_everything());
  EXPECT_TRUE(TypePattern::compile("**.**")->matches_everything());
  EXPECT_FALSE(TypePattern::compile("*")->matches_everything());
  EXPECT_FALSE(TypePattern::compile("a.**")->matches_everything());
}

// Every pattern of up to 4 segments over {a, b, *, **} against every type of up to 5 segments over
// {a, b}, checked against a plain recursive definition of the semantics.
std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t dot; (dot = text.find('.', start)) != std::string_view::npos; start = dot + 1) {
    out.emplace_back(text.substr(start, dot - start));
  }
  out.emplace_back(text.substr(start));
  return out;
}

bool reference_match(const std::vector<std::string>& pattern, size_t p,
                     const std::vector<std::string>& type, size_t t) {
  if (p == pattern.size()) {
    return t == type.size();
  }
  if (pattern[p] == "**") {
    for (size_t k = t; k <= type.size(); ++k) {
      if (reference_match(pattern, p + 1, type, k)) {
        return true;
      }
    }
    return false;
  }
  return t < type.size() && (pattern[p] == "*" || pattern[p] == type[t]) &&
         reference_match(pattern, p + 1, type, t + 1);
}

std::vector<std::string> all_dotted(const std::vector<std::string>& alphabet, int max_segments) {
  std::vector<std::string> out;
  std::vector<std::string> layer = {""};
  for (int n = 1; n <= max_segments; ++n) {
    std::vector<std::string> next;
    for (const std::string& prefix : layer) {
      for (const std::string& segment : alphabet) {
        next.push_back(prefix.empty() ? segment : prefix + "." + segment);
      }
    }
    out.insert(out.end(), next.begin(), next.end());
    layer = std::move(next);
  }
  return out;
}

TEST(TypePatternTest, AgreesWithReferenceExhaustively) {
  const std::vector<std::string> patterns = all_dotted({"a", "b", "*", "**"}, 4);
  const std::vector<std::string> types = all_dotted({"a", "b"}, 5);
  int checked = 0;
  for (const std::string& text : patterns) {
    StatusOr<TypePattern> pattern = TypePattern::compile(text);
    ASSERT_TRUE(pattern.ok()) << text;
    const std::vector<std::string> pattern_segments = split(text);
    for (const std::string& type : types) {
      ASSERT_EQ(pattern->matches(type), reference_match(pattern_segments, 0, split(type), 0))
          << "pattern \"" << text << "\" type \"" << type << "\"";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 340 * 62);
}

}  // namespace
}  // namespace simpang::hub
