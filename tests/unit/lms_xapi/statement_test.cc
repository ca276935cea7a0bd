// Statement validation as a table: good statements (seeded from the specification's examples)
// pass and are normalised; each bad one fails with the JSON path and the rule it breaks.
#include <gtest/gtest.h>

#include <string>

#include "xapi_statement.h"

namespace simpang::plugins::lms_xapi {
namespace {

using nlohmann::json;

// A simple valid statement; each bad case changes one thing in it.
json base() {
  return json::parse(R"({
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"objectType": "Agent", "name": "Project Tin Can API", "mbox": "mailto:user@example.com"},
    "verb": {"id": "http://example.com/xapi/verbs#sent-a-statement", "display": {"en-US": "sent"}},
    "object": {"id": "http://example.com/xapi/activity/simplestatement",
               "definition": {"name": {"en-US": "simple statement"},
                              "description": {"en-US": "A simple statement"}}}
  })");
}

struct Good {
  const char* name;
  const char* patch;  // JSON merge patch (RFC 7386) applied to base()
};

const Good kGood[] = {
    {"base", "{}"},
    {"no id, no objectType", R"({"id": null, "actor": {"objectType": null}})"},
    {"account",
     R"({"actor": {"mbox": null, "account": {"homePage": "http://www.example.com", "name": "1625378"}}})"},
    {"sha1",
     R"({"actor": {"mbox": null, "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}})"},
    {"openid", R"({"actor": {"mbox": null, "openid": "http://openid.example.org/12345"}})"},
    {"anonymous group",
     R"({"actor": {"objectType": "Group", "mbox": null, "name": null, "member": [{"mbox": "mailto:a@example.com"}]}})"},
    {"identified group", R"({"actor": {"objectType": "Group", "member": []}})"},
    {"result", R"({"result": {"score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
                   "success": true, "completion": true, "response": "x", "duration": "PT1H0M0S",
                   "extensions": {"http://example.com/ext": {"a": 1}}}})"},
    {"context", R"({"context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                    "instructor": {"mbox": "mailto:teacher@example.com"},
                    "team": {"objectType": "Group", "member": [{"mbox": "mailto:t@example.com"}]},
                    "contextActivities": {"parent": {"id": "http://example.com/course"},
                                          "grouping": [{"id": "http://example.com/prog"}]},
                    "revision": "r1", "platform": "Moodle", "language": "en-US",
                    "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}}})"},
    {"timestamps",
     R"({"timestamp": "2013-05-18T05:32:34.804+00:00", "stored": "2013-05-18T05:32:34Z",
                       "version": "1.0.3"})"},
    {"agent object",
     R"({"object": {"objectType": "Agent", "mbox": "mailto:x@example.com", "id": null, "definition": null}})"},
    {"statement ref",
     R"({"object": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee", "definition": null}})"},
    {"voiding", R"({"verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                    "object": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee", "definition": null}})"},
    {"substatement", R"({"object": {"objectType": "SubStatement", "id": null, "definition": null,
                         "actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/visited"},
                         "object": {"id": "http://example.com/website"}, "timestamp": "2013-05-18T05:32:34Z"}})"},
    {"choice interaction",
     R"({"object": {"definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
         "interactionType": "choice", "correctResponsesPattern": ["golf[,]tetris"],
         "choices": [{"id": "golf", "description": {"en-US": "Golf Example"}}, {"id": "tetris"}]}}})"},
    {"attachment with fileUrl",
     R"({"attachments": [{"usageType": "http://adlnet.gov/expapi/attachments/signature",
         "display": {"en-US": "Signature"}, "contentType": "application/octet-stream", "length": 4235,
         "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
         "fileUrl": "http://example.com/sig"}]})"},
};

class GoodStatements : public ::testing::TestWithParam<Good> {};

TEST_P(GoodStatements, Pass) {
  json statement = base();
  statement.merge_patch(json::parse(GetParam().patch));
  const auto error = validate_statement(statement);
  EXPECT_FALSE(error) << GetParam().name << ": " << error->message();
}

INSTANTIATE_TEST_SUITE_P(Table, GoodStatements, ::testing::ValuesIn(kGood),
                         [](const auto& info) { return "good_" + std::to_string(info.index); });

struct Bad {
  const char* patch;
  const char* path;
  const char* rule;  // a part of the rule's wording
};

const Bad kBad[] = {
    {R"({"id": "not-a-uuid"})", "id", "must be a UUID"},
    {R"({"colour": "red"})", "colour", "unknown property"},
    {R"({"actor": null})", "actor", "required in a statement"},
    {R"({"actor": {"mbox": "user@example.com"}})", "actor.mbox", "must be a mailto IRI"},
    {R"({"actor": {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}})", "actor",
     "exactly one"},
    {R"({"actor": {"mbox": null}})", "actor", "exactly one inverse functional identifier"},
    {R"({"actor": {"mbox": null, "mbox_sha1sum": "abc"}})", "actor.mbox_sha1sum", "40 hexadecimal"},
    {R"({"actor": {"mbox": null, "openid": "not an iri"}})", "actor.openid", "absolute IRI"},
    {R"({"actor": {"mbox": null, "account": {"name": "x"}}})", "actor.account.homePage",
     "required"},
    {R"({"actor": {"mbox": null, "account": {"homePage": "http://x.example", "name": 5}}})",
     "actor.account.name", "must be a string"},
    {R"({"actor": {"mbox": null, "account": {"homePage": "x", "name": "n"}}})",
     "actor.account.homePage", "IRI"},
    {R"({"actor": {"age": 3}})", "actor.age", "unknown property"},
    {R"({"actor": {"objectType": "Person"}})", "actor.objectType", "must be \"Agent\""},
    {R"({"actor": {"objectType": "Group", "mbox": null, "name": null}})", "actor",
     "anonymous Group"},
    {R"({"actor": {"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@x.example"}]}})",
     "actor.member[0]", "must be Agents"},
    {R"({"actor": {"objectType": "Group", "member": [{"name": "no ifi"}]}})", "actor.member[0]",
     "exactly one"},
    {R"({"verb": {"id": null}})", "verb.id", "required"},
    {R"({"verb": {"id": "sent"}})", "verb.id", "absolute IRI"},
    {R"({"verb": {"display": {"en_US": "sent"}}})", "verb.display.en_US", "RFC 5646"},
    {R"({"verb": {"display": {"en-US": 1}}})", "verb.display.en-US", "must be a string"},
    {R"({"object": {"id": "simplestatement"}})", "object.id", "absolute IRI"},
    {R"({"object": {"objectType": "Thing"}})", "object.objectType", "must be Activity"},
    {R"({"object": {"definition": {"type": "cmi"}}})", "object.definition.type", "IRI"},
    {R"({"object": {"definition": {"interactionType": "essay"}}})",
     "object.definition.interactionType", "one of"},
    {R"({"object": {"definition": {"correctResponsesPattern": ["a"]}}})",
     "object.definition.correctResponsesPattern", "interactionType"},
    {R"({"object": {"definition": {"interactionType": "likert", "choices": []}}})",
     "object.definition.choices", "not allowed"},
    {R"({"object": {"definition": {"extensions": {"colour": 1}}}})",
     "object.definition.extensions.colour", "IRI"},
    {R"({"object": {"objectType": "Agent", "definition": null, "mbox": "mailto:x@y.example"}})",
     "object.id", "unknown property"},
    {R"({"object": {"objectType": "StatementRef", "id": "x", "definition": null}})", "object.id",
     "UUID"},
    {R"({"object": {"objectType": "SubStatement", "id": null, "definition": null, "actor": {"mbox": "mailto:a@b.example"},
                    "verb": {"id": "http://x.example/v"}, "object": {"objectType": "SubStatement"}}})",
     "object.object.objectType", "must not contain a SubStatement"},
    {R"({"object": {"objectType": "SubStatement", "id": null, "definition": null, "actor": {"mbox": "mailto:a@b.example"},
                    "verb": {"id": "http://x.example/v"}, "object": {"id": "http://x.example/o"}, "version": "1.0.0"}})",
     "object.version", "not allowed in a SubStatement"},
    {R"({"verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}})", "object.objectType",
     "voiding statement"},
    {R"({"result": {"score": {"scaled": 1.5}}})", "result.score.scaled", "between -1 and 1"},
    {R"({"result": {"score": {"scaled": -1.01}}})", "result.score.scaled", "between -1 and 1"},
    {R"({"result": {"score": {"raw": 120, "min": 0, "max": 100}}})", "result.score.raw",
     "greater than max"},
    {R"({"result": {"score": {"raw": -1, "min": 0}}})", "result.score.raw", "less than min"},
    {R"({"result": {"score": {"min": 10, "max": 10}}})", "result.score.max", "greater than min"},
    {R"({"result": {"score": {"raw": "95"}}})", "result.score.raw", "must be a number"},
    {R"({"result": {"success": "yes"}})", "result.success", "true or false"},
    {R"({"result": {"duration": "1 hour"}})", "result.duration", "ISO 8601 duration"},
    {R"({"result": {"grade": "A"}})", "result.grade", "unknown property"},
    {R"({"context": {"registration": "123"}})", "context.registration", "UUID"},
    {R"({"context": {"team": {"mbox": "mailto:t@x.example"}}})", "context.team", "must be a Group"},
    {R"({"context": {"contextActivities": {"parent": "http://x.example/c"}}})",
     "context.contextActivities.parent", "Activity or an array"},
    {R"({"context": {"contextActivities": {"parent": [{"id": "c"}]}}})",
     "context.contextActivities.parent[0].id", "IRI"},
    {R"({"context": {"contextActivities": {"sibling": []}}})", "context.contextActivities.sibling",
     "unknown"},
    {R"({"context": {"language": "english!"}})", "context.language", "RFC 5646"},
    {R"({"context": {"platform": "x"}, "object": {"objectType": "Agent", "mbox": "mailto:x@y.example", "id": null, "definition": null}})",
     "context.platform", "only allowed when the statement's object is an Activity"},
    {R"({"context": {"statement": {"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}}})",
     "context.statement", "StatementRef"},
    {R"({"timestamp": "2013-05-18T05:32:34-00:00"})", "timestamp", "ISO 8601 timestamp"},
    {R"({"timestamp": "May 18th"})", "timestamp", "ISO 8601 timestamp"},
    {R"({"version": "2.0.0"})", "version", "1.0.x"},
    {R"({"authority": {"name": "no ifi"}})", "authority", "exactly one"},
    {R"({"attachments": [{"usageType": "http://x.example/u", "display": {"en-US": "d"}, "contentType": "text/plain",
         "length": 4, "sha2": "abc"}]})",
     "attachments[0].fileUrl", "multipart"},
    {R"({"attachments": [{"usageType": "http://x.example/u", "display": {"en-US": "d"}, "contentType": "text/plain",
         "length": -4, "sha2": "abc", "fileUrl": "http://x.example/f"}]})",
     "attachments[0].length", "non-negative"},
    {R"({"attachments": [{"display": {"en-US": "d"}}]})", "attachments[0].usageType", "required"},
};

class BadStatements : public ::testing::TestWithParam<Bad> {};

TEST_P(BadStatements, FailNamingPathAndRule) {
  json statement = base();
  statement.merge_patch(json::parse(GetParam().patch));
  const auto error = validate_statement(statement);
  ASSERT_TRUE(error) << GetParam().patch;
  EXPECT_EQ(error->path, GetParam().path) << error->message();
  EXPECT_NE(error->rule.find(GetParam().rule), std::string::npos) << error->message();
}

INSTANTIATE_TEST_SUITE_P(Table, BadStatements, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return "bad_" + std::to_string(info.index); });

TEST(Statement, NullValuesAreRefused) {
  json statement = base();
  statement["result"] = {{"response", nullptr}};
  const auto error = validate_statement(statement);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message(), "result.response: must not be null");
}

TEST(Statement, NotAnObject) {
  json statement = json::array();
  const auto error = validate_statement(statement, "[3]");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->path, "[3]");
}

TEST(Statement, BatchPathPrefix) {
  json statement = base();
  statement["actor"]["mbox"] = "bob";
  const auto error = validate_statement(statement, "[2]");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->path, "[2].actor.mbox");
}

TEST(Statement, ContextActivitiesAreNormalisedToArrays) {
  json statement = base();
  statement["context"] = {{"contextActivities", {{"parent", {{"id", "http://example.com/c"}}}}}};
  ASSERT_FALSE(validate_statement(statement));
  const json& parent = statement["context"]["contextActivities"]["parent"];
  ASSERT_TRUE(parent.is_array());
  ASSERT_EQ(parent.size(), 1u);
  EXPECT_EQ(parent[0]["id"], "http://example.com/c");
}

// xAPI-Data.md 2.3.1: what may differ between two statements with one id that are the same.
TEST(Statement, ComparisonIgnoresWhatIsNotPartOfTheStatement) {
  json a = base();
  a["timestamp"] = "2013-05-18T05:32:34.804+00:00";
  a["actor"] = {{"objectType", "Group"},
                {"member", json::array({{{"mbox", "mailto:a@example.com"}},
                                        {{"mbox", "mailto:b@example.com"}}})}};
  ASSERT_FALSE(validate_statement(a));
  json b = a;
  b["verb"]["display"] = {{"ms-MY", "hantar"}};
  b["object"]["definition"]["name"] = {{"en-US", "renamed"}};
  b["timestamp"] = "2013-05-18T07:32:34.804+02:00";
  std::swap(b["actor"]["member"][0], b["actor"]["member"][1]);
  b["stored"] = "2020-01-01T00:00:00Z";
  b["version"] = "1.0.3";
  EXPECT_TRUE(same_statement(comparable_form(a), comparable_form(b)));
  json c = a;
  c.erase("timestamp");  // one the LRS would assign
  EXPECT_TRUE(same_statement(comparable_form(a), comparable_form(c)));

  json d = a;
  d["result"] = {{"success", true}};
  EXPECT_FALSE(same_statement(comparable_form(a), comparable_form(d)));
  json e = a;
  e["timestamp"] = "2013-05-18T05:32:35Z";
  EXPECT_FALSE(same_statement(comparable_form(a), comparable_form(e)));
  json f = a;
  f["object"]["id"] = "http://example.com/xapi/activity/other";
  EXPECT_FALSE(same_statement(comparable_form(a), comparable_form(f)));
}

}  // namespace
}  // namespace simpang::plugins::lms_xapi
