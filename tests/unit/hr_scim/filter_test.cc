// SCIM filters (RFC 7644 3.4.2.2): parsing, refusals with their offsets, evaluation.
#include <gtest/gtest.h>

#include "scim_filter.h"

namespace simpang::plugins::hr_scim {
namespace {

using nlohmann::json;

const json kUser = json::parse(R"({
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223", "externalId": "Emp-7", "userName": "BJensen@example.com", "active": true,
  "name": {"familyName": "Jensen", "givenName": "Barbara"},
  "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
             {"value": "babs@jensen.org", "type": "home"}],
  "meta": {"lastModified": "2026-11-01T10:00:00Z", "version": "W/\"3\""},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
    {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915"}}
})");

bool hit(const std::string& text) {
  auto f = parse_filter(text, FilterLimits{});
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().message();
  return f.ok() && matches(**f, kUser);
}

std::string refusal(const std::string& text, FilterLimits limits = {}) {
  auto f = parse_filter(text, limits);
  EXPECT_FALSE(f.ok()) << text;
  return f.ok() ? "" : f.status().message();
}

TEST(ScimFilter, OperatorsOnStringsAreCaseInsensitiveForUserName) {
  EXPECT_TRUE(hit(R"(userName eq "bjensen@EXAMPLE.com")"));
  EXPECT_FALSE(hit(R"(userName ne "bjensen@example.com")"));
  EXPECT_TRUE(hit(R"(userName co "jensen@")"));
  EXPECT_TRUE(hit(R"(userName sw "bj")"));
  EXPECT_TRUE(hit(R"(userName ew ".COM")"));
  EXPECT_FALSE(hit(R"(userName sw "jensen")"));
  EXPECT_TRUE(hit(R"(USERNAME Eq "bjensen@example.com")"));
}

TEST(ScimFilter, ExternalIdIsCaseExact) {
  EXPECT_TRUE(hit(R"(externalId eq "Emp-7")"));
  EXPECT_FALSE(hit(R"(externalId eq "emp-7")"));
}

TEST(ScimFilter, MultiValuedAndValuePaths) {
  EXPECT_TRUE(hit(R"(emails eq "babs@jensen.org")"));
  EXPECT_TRUE(hit(R"(emails.value ew "jensen.org")"));
  EXPECT_TRUE(hit(R"(emails[type eq "work" and value co "example"])"));
  EXPECT_FALSE(hit(R"(emails[type eq "home" and value co "example"])"));
  EXPECT_TRUE(hit(R"(emails.type eq "home")"));
}

TEST(ScimFilter, PresentBooleansAndLogic) {
  EXPECT_TRUE(hit("title pr or name.givenName pr"));
  EXPECT_FALSE(hit("title pr"));
  EXPECT_TRUE(hit("active eq true"));
  EXPECT_FALSE(hit("active eq false"));
  EXPECT_TRUE(hit(R"(not (active eq false) and (userName sw "x" or name.familyName eq "jensen"))"));
  // and binds tighter than or.
  EXPECT_TRUE(hit(R"(userName eq "nobody" and active eq false or active eq true)"));
  EXPECT_FALSE(hit(R"(userName eq "nobody" and (active eq false or active eq true))"));
}

TEST(ScimFilter, DatesCompareAsInstants) {
  EXPECT_TRUE(hit(R"(meta.lastModified gt "2026-10-31T23:59:59Z")"));
  EXPECT_TRUE(hit(R"(meta.lastModified eq "2026-11-01T12:00:00+02:00")"));
  EXPECT_FALSE(hit(R"(meta.lastModified lt "2026-11-01T10:00:00Z")"));
  EXPECT_TRUE(hit(R"(meta.lastModified le "2026-11-01T10:00:00Z")"));
}

TEST(ScimFilter, EnterpriseAttributesBySchemaUrn) {
  EXPECT_TRUE(hit(
      R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984")"));
  EXPECT_TRUE(hit(
      R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915")"));
  EXPECT_TRUE(hit(R"(urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj")"));
}

TEST(ScimFilter, MissingAttributeIsNotEqual) {
  EXPECT_TRUE(hit(R"(title ne "Boss")"));
  EXPECT_FALSE(hit(R"(title eq "Boss")"));
}

TEST(ScimFilter, RefusalsNameTheProblemAndWhere) {
  EXPECT_EQ(
      refusal(R"(userName eqq "x")"),
      "at 9: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le) or pr, got 'eqq'");
  EXPECT_EQ(refusal(R"(userName eq "x)"), "at 12: unterminated string");
  EXPECT_EQ(refusal(R"((userName eq "x")"), "at 16: expected ')'");
  EXPECT_EQ(refusal("userName eq bob"),
            "at 12: expected a value (a \"string\", a number, true, false or null), got 'bob'");
  EXPECT_EQ(refusal("active gt true"), "at 14: 'gt' has no meaning for true");
  EXPECT_EQ(refusal("userName co 3"), "at 13: 'co' compares with a string");
  EXPECT_EQ(refusal(""), "the filter is empty");
  EXPECT_EQ(refusal(R"(userName eq "a" xor x)"), "at 16: unexpected 'xor x'");
  EXPECT_EQ(refusal(R"(urn:example:Foo:bar eq "a")"),
            "at 19: unknown schema 'urn:example:Foo' in attribute path 'urn:example:Foo:bar'");
  EXPECT_EQ(refusal(std::string(5000, 'a')),
            "the filter is 5000 characters long, more than the 4096 accepted");
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "(";
  deep += "active eq true";
  for (int i = 0; i < 20; ++i) deep += ")";
  EXPECT_NE(refusal(deep).find("nests deeper than 16"), std::string::npos);
}

}  // namespace
}  // namespace simpang::plugins::hr_scim
