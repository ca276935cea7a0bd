// SCIM PATCH (RFC 7644 3.5.2): paths, add/replace/remove with and without path, value filters,
// all-or-none application, the refusals' scimType and detail.
#include <gtest/gtest.h>

#include "scim_patch.h"

namespace simpang::plugins::hr_scim {
namespace {

using nlohmann::json;

json user() {
  return json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "u1", "userName": "bjensen", "active": true, "name": {"givenName": "Barbara"},
    "emails": [{"value": "b@work.example", "type": "work"}, {"value": "b@home.example", "type": "home"}]
  })");
}

json patch(json operations) {
  return json{{"schemas", {kPatchOpSchema}}, {"Operations", std::move(operations)}};
}

TEST(ScimPatchPath, ParsesAttrSubAndValuePaths) {
  auto p = parse_patch_path(R"(emails[type eq "work"].value)", FilterLimits{});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->attr.name, "emails");
  ASSERT_NE(p->filter, nullptr);
  EXPECT_EQ(p->filtered_sub, "value");
  auto q = parse_patch_path(
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", FilterLimits{});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->attr.schema, kEnterpriseSchema);
  EXPECT_EQ(q->attr.name, "manager");
  EXPECT_EQ(q->attr.sub, "value");
  EXPECT_FALSE(parse_patch_path("emails[type eq \"work\"", FilterLimits{}).ok());
  EXPECT_FALSE(parse_patch_path("name.givenName[x eq 1]", FilterLimits{}).ok());
  EXPECT_FALSE(parse_patch_path("9lives", FilterLimits{}).ok());
}

TEST(ScimPatch, EntraReplaceActiveAsStringFalse) {
  json u = user();
  ASSERT_FALSE(
      apply_patch(u, patch({{{"op", "Replace"}, {"path", "active"}, {"value", "False"}}}), {}));
  EXPECT_EQ(u["active"], false);
}

TEST(ScimPatch, ReplaceWithoutPathAndEnterpriseUrn) {
  json u = user();
  ASSERT_FALSE(apply_patch(
      u,
      patch({{{"op", "replace"},
              {"value",
               {{"name.familyName", "Jensen"},
                {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Ops"},
                {"displayName", "Babs"}}}}}),
      {}));
  EXPECT_EQ(u["name"]["familyName"], "Jensen");
  EXPECT_EQ(u["name"]["givenName"], "Barbara");
  EXPECT_EQ(u[kEnterpriseSchema]["department"], "Ops");
  EXPECT_EQ(u["displayName"], "Babs");
  EXPECT_NE(std::find(u["schemas"].begin(), u["schemas"].end(), json(kEnterpriseSchema)),
            u["schemas"].end());
}

TEST(ScimPatch, ValuePathReplaceAddRemove) {
  json u = user();
  ASSERT_FALSE(apply_patch(u,
                           patch({{{"op", "replace"},
                                   {"path", R"(emails[type eq "work"].value)"},
                                   {"value", "new@work"}}}),
                           {}));
  EXPECT_EQ(u["emails"][0]["value"], "new@work");
  ASSERT_FALSE(apply_patch(u,
                           patch({{{"op", "add"},
                                   {"path", R"(phoneNumbers[type eq "mobile"].value)"},
                                   {"value", "+1 555"}}}),
                           {}));
  EXPECT_EQ(u["phoneNumbers"], json::parse(R"([{"type":"mobile","value":"+1 555"}])"));
  ASSERT_FALSE(
      apply_patch(u, patch({{{"op", "remove"}, {"path", R"(emails[type eq "home"])"}}}), {}));
  EXPECT_EQ(u["emails"].size(), 1u);
  ASSERT_FALSE(apply_patch(u,
                           patch({{{"op", "add"},
                                   {"path", "emails"},
                                   {"value", {{{"value", "x@y"}, {"type", "other"}}}}}}),
                           {}));
  EXPECT_EQ(u["emails"].size(), 2u);
  ASSERT_FALSE(apply_patch(u, patch({{{"op", "remove"}, {"path", "name.givenName"}}}), {}));
  EXPECT_FALSE(u["name"].contains("givenName"));
}

TEST(ScimPatch, AllOrNone) {
  json u = user();
  const json before = u;
  auto error = apply_patch(
      u,
      patch(
          {{{"op", "replace"}, {"path", "active"}, {"value", false}},
           {{"op", "replace"}, {"path", R"(emails[type eq "fax"])"}, {"value", {{"value", "f"}}}}}),
      {});
  ASSERT_TRUE(error);
  EXPECT_EQ(error->scim_type, "noTarget");
  EXPECT_EQ(error->detail, "Operations[1]: no element of 'emails' matches the filter");
  EXPECT_EQ(u, before);
}

struct BadPatch {
  json body;
  int status;
  std::string scim_type;
  std::string detail;
};

TEST(ScimPatch, RefusalTable) {
  const json ops_schema = {kPatchOpSchema};
  const std::vector<BadPatch> table = {
      {json::array(), 400, "invalidSyntax", "the body must be a PatchOp object"},
      {{{"Operations", json::array({{{"op", "add"}}})}},
       400,
       "invalidSyntax",
       "'schemas' must hold urn:ietf:params:scim:api:messages:2.0:PatchOp"},
      {patch(json::array()), 400, "invalidSyntax", "'Operations' must be a non-empty array"},
      {patch({{{"op", "move"}, {"path", "x"}}}), 400, "invalidSyntax",
       "Operations[0].op: must be add, replace or remove, got 'move'"},
      {patch({{{"op", "remove"}}}), 400, "noTarget", "Operations[0]: remove requires 'path'"},
      {patch({{{"op", "add"}, {"path", "title"}}}), 400, "invalidValue",
       "Operations[0].value: required for add"},
      {patch({{{"op", "replace"}, {"path", "id"}, {"value", "x"}}}), 400, "mutability",
       "Operations[0]: 'id' is readOnly"},
      {patch({{{"op", "replace"}, {"path", "meta.version"}, {"value", "x"}}}), 400, "mutability",
       "Operations[0]: 'meta.version' is readOnly"},
      {patch({{{"op", "remove"}, {"path", "userName"}}}), 400, "mutability",
       "Operations[0]: 'userName' is required and cannot be removed"},
      {patch({{{"op", "replace"}, {"path", "emails[type eq]"}, {"value", "x"}}}), 400,
       "invalidPath", "Operations[0].path: at 14: expected a space and a value after 'eq'"},
      {patch({{{"op", "replace"}, {"path", "active[x eq 1]"}, {"value", 1}}}), 400, "invalidPath",
       "Operations[0]: 'active' is not multi-valued: a value filter selects nothing in it"},
      {patch({{{"op", "replace"}, {"value", "x"}}}), 400, "invalidValue",
       "Operations[0]: an operation without 'path' takes an object of attributes as 'value'"},
  };
  for (const BadPatch& row : table) {
    json u = user();
    auto error = apply_patch(u, row.body, {});
    ASSERT_TRUE(error) << row.body.dump();
    EXPECT_EQ(error->status, row.status) << row.body.dump();
    EXPECT_EQ(error->scim_type, row.scim_type) << row.body.dump();
    EXPECT_EQ(error->detail, row.detail) << row.body.dump();
  }
  json many = json::array();
  for (int i = 0; i < 3; ++i) many.push_back({{"op", "remove"}, {"path", "title"}});
  json u = user();
  auto error = apply_patch(u, patch(many), PatchLimits{{}, 2});
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 413);
  EXPECT_EQ(error->scim_type, "tooMany");
}

}  // namespace
}  // namespace simpang::plugins::hr_scim
