// The loader's helpers: did-you-mean suggestions, the YAML-to-JSON conversion of `config:` and the
// resolution of its secret references.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "config/did_you_mean.h"
#include "config/secret_refs.h"
#include "config/yaml_to_json.h"
#include "test_support.h"

namespace simpang::hub::config_internal {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(EditDistanceTest, CountsInsertionsDeletionsSubstitutionsAndTranspositions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("rout", "routes"), 2u);
  EXPECT_EQ(edit_distance("isolaiton", "isolation"), 1u);  // one swap, not two substitutions
}

TEST(DidYouMeanTest, SuggestsTheClosestKnownWord) {
  const std::vector<std::string> top = {"hub", "plugins", "routes"};
  EXPECT_EQ(did_you_mean("rout", top), "routes");
  EXPECT_EQ(did_you_mean("plugin", top), "plugins");
  EXPECT_EQ(did_you_mean("Routes", top), "routes");  // case is not a real difference
  EXPECT_EQ(did_you_mean("hubb", top), "hub");
  EXPECT_EQ(did_you_mean_suffix("rout", top), "; did you mean 'routes'?");
}

TEST(DidYouMeanTest, SuggestsByPrefix) {
  const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error"};
  EXPECT_EQ(did_you_mean("warning", levels), "warn");
  EXPECT_EQ(did_you_mean("summary", {"heartbeat", "summary_interval"}), "summary_interval");
}

TEST(DidYouMeanTest, StaysQuietWhenNothingIsClose) {
  const std::vector<std::string> top = {"hub", "plugins", "routes"};
  EXPECT_EQ(did_you_mean("partners", top), std::nullopt);
  EXPECT_EQ(did_you_mean("x", {"to"}), std::nullopt);  // as far from "to" as anything is
  EXPECT_EQ(did_you_mean("hub", top), std::nullopt);   // not a typo at all
  EXPECT_EQ(did_you_mean("anything", {}), std::nullopt);
  EXPECT_EQ(did_you_mean_suffix("partners", top), "");
}

TEST(DidYouMeanTest, TiesGoToTheEarlierCandidate) {
  EXPECT_EQ(did_you_mean("ab", {"ac", "ad"}), "ac");
}

nlohmann::json convert(const std::string& yaml, std::vector<YamlProblem>& problems) {
  return yaml_to_json(YAML::Load(yaml), problems);
}

nlohmann::json convert_ok(const std::string& yaml) {
  std::vector<YamlProblem> problems;
  nlohmann::json out = convert(yaml, problems);
  for (const YamlProblem& p : problems) {
    ADD_FAILURE() << p.mark.line + 1 << ":" << p.mark.column + 1 << ": " << p.message;
  }
  return out;
}

TEST(YamlToJsonTest, PlainScalarsFollowTheCoreSchema) {
  EXPECT_EQ(convert_ok("{a: 1, b: -7, c: +3, d: 0x1F, e: 0o17, f: 18446744073709551615}"),
            nlohmann::json::parse(R"({"a": 1, "b": -7, "c": 3, "d": 31, "e": 15,
                                      "f": 18446744073709551615})"));
  EXPECT_EQ(convert_ok("{a: 1.5, b: 1e3, c: -.5, d: 2.}"),
            nlohmann::json::parse(R"({"a": 1.5, "b": 1000.0, "c": -0.5, "d": 2.0})"));
  EXPECT_EQ(convert_ok("{a: true, b: False, c: TRUE, d: yes, e: on}"),
            nlohmann::json::parse(R"({"a": true, "b": false, "c": true, "d": "yes", "e": "on"})"));
  EXPECT_EQ(convert_ok("{a: ~, b: null, c: NULL, d: }"),
            nlohmann::json::parse(R"({"a": null, "b": null, "c": null, "d": null})"));
  // No JSON form for these; a plugin that wants them can parse the text.
  EXPECT_EQ(convert_ok("{a: .inf, b: .nan, c: 1.2.3, d: 12:30}"),
            nlohmann::json::parse(R"({"a": ".inf", "b": ".nan", "c": "1.2.3", "d": "12:30"})"));
}

TEST(YamlToJsonTest, QuotedAndBlockScalarsStayStrings) {
  EXPECT_EQ(convert_ok("{a: '1', b: \"true\", c: \"\", d: !!str 5, e: '~'}"),
            nlohmann::json::parse(R"({"a": "1", "b": "true", "c": "", "d": "5", "e": "~"})"));
  EXPECT_EQ(convert_ok("a: |\n  two\n  lines\nb: >\n  folded\n  text\n"),
            nlohmann::json::parse(R"({"a": "two\nlines\n", "b": "folded text\n"})"));
}

TEST(YamlToJsonTest, ExplicitTagsAreHonoured) {
  EXPECT_EQ(convert_ok("{a: !!float 5, b: !!int 7, c: !!bool true, d: !!null ~}"),
            nlohmann::json::parse(R"({"a": 5.0, "b": 7, "c": true, "d": null})"));
  EXPECT_TRUE(convert_ok("{a: !!float 5}")["a"].is_number_float());
}

TEST(YamlToJsonTest, NestedCollectionsAndAliases) {
  EXPECT_EQ(convert_ok("base: &b {x: 1}\nlist: [*b, [2, [3]], {}, []]\n"),
            nlohmann::json::parse(R"({"base": {"x": 1}, "list": [{"x": 1}, [2, [3]], {}, []]})"));
}

TEST(YamlToJsonTest, ReportsWhatHasNoJsonForm) {
  std::vector<YamlProblem> problems;
  convert("a: 99999999999999999999\nb: 1e999\nc: !!int x\nd: !custom y\n[k]: 1\ne: 1\ne: 2\n",
          problems);
  ASSERT_EQ(problems.size(), 6u);
  EXPECT_THAT(problems[0].message, HasSubstr("does not fit in 64 bits"));
  EXPECT_EQ(problems[0].mark.line, 0);
  EXPECT_EQ(problems[0].mark.column, 3);
  EXPECT_THAT(problems[1].message, HasSubstr("the number 1e999 is out of range"));
  EXPECT_THAT(problems[2].message, HasSubstr("tagged !!int but is not an int"));
  EXPECT_THAT(problems[3].message, HasSubstr("the YAML tag '!custom' is not supported"));
  EXPECT_THAT(problems[4].message, HasSubstr("a mapping key is not a scalar"));
  EXPECT_THAT(problems[5].message, HasSubstr("duplicate key 'e' (first given at line 6)"));
  EXPECT_EQ(problems[5].mark.line, 6);
}

TEST(YamlToJsonTest, StopsOnAliasCyclesAndAliasBombs) {
  std::vector<YamlProblem> cycle;
  convert("a: &x [*x]\n", cycle);
  ASSERT_EQ(cycle.size(), 1u);
  EXPECT_THAT(cycle[0].message, HasSubstr("nests more than 64 levels deep"));

  // Nine levels of ten aliases each expand to a billion values.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    const std::string prev(1, static_cast<char>(level - 1));
    bomb += std::string(1, level) + ": &" + std::string(1, level) + " [";
    for (int i = 0; i < 10; ++i) {
      bomb += (i > 0 ? ", *" : "*") + prev;
    }
    bomb += "]\n";
  }
  std::vector<YamlProblem> problems;
  convert(bomb, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("more than 100000 values"));
}

TEST(YamlToJsonTest, EmptyInputIsNull) {
  std::vector<YamlProblem> problems;
  EXPECT_TRUE(yaml_to_json(YAML::Node(), problems).is_null());
  EXPECT_THAT(problems, IsEmpty());
}

TEST(SecretRefsTest, ProblemsCarryTheOffsetAndLengthOfTheirReference) {
  unsetenv("SIMPANG_TEST_UNSET");
  std::vector<ReferenceProblem> problems;
  const std::string text = "a $${b} ${env:SIMPANG_TEST_UNSET} ${nope} ${env:X";
  const std::string out = resolve_references(text, "/", problems);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].offset, 8u);
  EXPECT_EQ(problems[0].length, std::string("${env:SIMPANG_TEST_UNSET}").size());
  EXPECT_EQ(problems[1].offset, text.find("${nope}"));
  EXPECT_EQ(problems[1].length, 7u);
  EXPECT_EQ(problems[2].offset, text.find("${env:X"));
  EXPECT_EQ(problems[2].length, 7u);
  EXPECT_EQ(out, "a ${b}   ");
}

TEST(SecretRefsTest, TextWithoutReferencesIsUnchanged) {
  std::vector<ReferenceProblem> problems;
  EXPECT_FALSE(has_references("$5 and $$ and {braces}"));
  EXPECT_TRUE(has_references("$${"));
  EXPECT_EQ(resolve_references("$5 and $$ and {braces}", "/", problems), "$5 and $$ and {braces}");
  EXPECT_THAT(problems, IsEmpty());
}

TEST(SecretRefsTest, ValuesThatAreNotUtf8AreRefused) {
  setenv("SIMPANG_TEST_LATIN1", "caf\xe9", 1);
  std::vector<ReferenceProblem> problems;
  resolve_references("${env:SIMPANG_TEST_LATIN1}", "/", problems);
  unsetenv("SIMPANG_TEST_LATIN1");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("SIMPANG_TEST_LATIN1 is not UTF-8 text"));
  EXPECT_THAT(problems[0].message, Not(HasSubstr("caf")));
}

// Switches the effective uid for its lifetime (root can read any file; nobody cannot read one of
// mode 0), and back.
class EffectiveUidAs {
 public:
  explicit EffectiveUidAs(uid_t uid) {
    ok_ = setresuid(static_cast<uid_t>(-1), uid, static_cast<uid_t>(-1)) == 0;
  }
  ~EffectiveUidAs() {
    if (ok_) {
      (void)setresuid(static_cast<uid_t>(-1), 0, static_cast<uid_t>(-1));
    }
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

TEST(SecretRefsTest, AnUnreadableFileIsReportedWithWhy) {
  const simpang::testing::TempDir temp("simpang-secret-refs");
  const std::filesystem::path& dir = temp.path();
  std::ofstream(dir / "locked") << "hidden";
  ASSERT_EQ(chmod((dir / "locked").c_str(), 0), 0);
  std::vector<ReferenceProblem> problems;
  std::string out;
  {
    std::optional<EffectiveUidAs> unprivileged;
    if (geteuid() == 0) {
      constexpr uid_t kNobody = 65534;
      // Only the file's own mode may refuse: its directory is searchable by anyone.
      std::filesystem::permissions(dir, std::filesystem::perms::others_exec,
                                   std::filesystem::perm_options::add);
      unprivileged.emplace(kNobody);
      ASSERT_TRUE(unprivileged->ok()) << "setresuid: " << std::strerror(errno);
    }
    out = resolve_references("${file:locked}", dir, problems);
  }
  ASSERT_EQ(getuid(), geteuid());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "'${file:locked}': the file " + (dir / "locked").string() +
                                     " cannot be read: Permission denied");
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace simpang::hub::config_internal
