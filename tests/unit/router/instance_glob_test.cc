// `from` globs over instance names: matching and validation.
#include "router/instance_glob.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "router/route_table.h"

namespace simpang::hub {
namespace {

struct GlobCase {
  const char* glob;
  const char* name;
  bool matches;
};

TEST(InstanceGlobTest, Matches) {
  const GlobCase cases[] = {
      {"sim", "sim", true},
      {"sim", "sim2", false},
      {"sim", "si", false},
      {"*", "", true},
      {"*", "anything", true},
      {"lms-*", "lms-moodle", true},
      {"lms-*", "lms-", true},
      {"lms-*", "lms", false},
      {"lms-*", "hr-lms-x", false},
      {"*-moodle", "lms-moodle", true},
      {"*-moodle", "lms-moodle-2", false},
      {"hr-?", "hr-1", true},
      {"hr-?", "hr-", false},
      {"hr-?", "hr-12", false},
      {"??", "ab", true},
      {"??", "a", false},
      {"a*b*c", "abc", true},
      {"a*b*c", "axxbyyc", true},
      {"a*b*c", "axxbyycz", false},
      {"a*b*c", "acb", false},
      {"a*bc", "abcbc", true},
      {"*a*", "bab", true},
      {"*a*", "bbb", false},
      {"**", "x", true},
      {"*?", "", false},
      {"*?", "x", true},
      {"a.b", "a.b", true},
      {"a.b", "aXb", false},  // '.' is literal, not a regex wildcard
  };
  for (const GlobCase& c : cases) {
    EXPECT_EQ(instance_glob_matches(c.glob, c.name), c.matches)
        << "glob \"" << c.glob << "\" name \"" << c.name << "\"";
  }
}

TEST(InstanceGlobTest, ValidateAcceptsAllowedCharacters) {
  for (const char* glob : {"sim", "lms-*", "hr_?", "partner.acme", "A-Z_09.*?", "*"}) {
    Status status = validate_instance_glob(glob);
    EXPECT_TRUE(status.ok()) << glob << ": " << status.message();
  }
}

TEST(InstanceGlobTest, ValidateRejectsEmpty) {
  Status status = validate_instance_glob("");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("empty"), std::string::npos) << status.message();
}

TEST(InstanceGlobTest, ValidateNamesCharacterAndPosition) {
  Status status = validate_instance_glob("lms moodle");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("instance glob \"lms moodle\": ' ' at position 4 is not allowed"),
            std::string::npos)
      << status.message();

  status = validate_instance_glob("a/b");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("'/' at position 2"), std::string::npos) << status.message();

  status = validate_instance_glob("lms[ab]");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("'[' at position 4"), std::string::npos) << status.message();

  status = validate_instance_glob(std::string("ab\tc"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("byte 0x09 at position 3"), std::string::npos)
      << status.message();

  status = validate_instance_glob("caf\xc3\xa9");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("byte 0xc3 at position 4"), std::string::npos)
      << status.message();
}

bool reference_match(std::string_view glob, std::string_view name) {
  if (glob.empty()) {
    return name.empty();
  }
  if (glob[0] == '*') {
    for (size_t k = 0; k <= name.size(); ++k) {
      if (reference_match(glob.substr(1), name.substr(k))) {
        return true;
      }
    }
    return false;
  }
  return !name.empty() && (glob[0] == '?' || glob[0] == name[0]) &&
         reference_match(glob.substr(1), name.substr(1));
}

std::vector<std::string> all_strings(std::string_view alphabet, size_t max_length) {
  std::vector<std::string> out = {""};
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].size() < max_length) {
      for (char c : alphabet) {
        out.push_back(out[i] + c);
      }
    }
  }
  return out;
}

// Every glob of up to 5 characters over {a, b, *, ?} against every name of up to 6 over {a, b},
// checked against a plain recursive definition.
TEST(InstanceGlobTest, AgreesWithReferenceExhaustively) {
  const std::vector<std::string> globs = all_strings("ab*?", 5);
  const std::vector<std::string> names = all_strings("ab", 6);
  for (const std::string& glob : globs) {
    for (const std::string& name : names) {
      ASSERT_EQ(instance_glob_matches(glob, name), reference_match(glob, name))
          << "glob \"" << glob << "\" name \"" << name << "\"";
    }
  }
}

}  // namespace
}  // namespace simpang::hub
