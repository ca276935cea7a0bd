// SCIM resources as HTTP answers; see scim_resources.h.
#include "scim_resources.h"

#include "simpang/http/query.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

namespace simpang::plugins::hr_scim {
namespace {

using nlohmann::json;

Status refusal(const std::string& scim_type, const std::string& detail) {
  return Status::Error(scim_type + ": " + detail);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::optional<size_t> positive(const json& params, const char* key, std::string& error) {
  if (!params.contains(key)) return std::nullopt;
  const std::string text = params[key].get<std::string>();
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), ::isdigit)) {
    error = std::string(key) + " must be a non-negative integer, got '" + text + "'";
    return std::nullopt;
  }
  return std::stoul(text);
}

}  // namespace

simpang::http::Response scim_json(int status, std::string body) {
  simpang::http::Response r;
  r.status = status;
  r.content_type = "application/scim+json";
  r.body = std::move(body);
  return r;
}

simpang::http::Response scim_error(int status, const std::string& scim_type,
                                   const std::string& detail) {
  nlohmann::ordered_json error;
  error["schemas"] = {kErrorSchema};
  error["status"] = std::to_string(status);
  if (!scim_type.empty()) error["scimType"] = scim_type;
  error["detail"] = detail;
  return scim_json(status, error.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::optional<json> decode_query(const std::string& query) {
  auto params = simpang::http::decode_query(query);
  if (!params) return std::nullopt;
  json out = json::object();
  for (const auto& [name, value] : *params) {
    if (!name.empty()) out[name] = value;
  }
  return out;
}

StatusOr<json> normalise(const std::string& type, json r, const json& before, const std::string& id,
                         const std::string& version, int64_t now_ms) {
  if (!r.is_object()) return refusal("invalidSyntax", "the resource must be a JSON object");
  const char* core = type == "User" ? kUserSchema : kGroupSchema;
  const json* schemas = find_member(r, "schemas");
  if (schemas == nullptr || !schemas->is_array() ||
      std::find(schemas->begin(), schemas->end(), json(core)) == schemas->end()) {
    return refusal("invalidSyntax", std::string("schemas: must hold ") + core);
  }
  for (const json& s : *schemas) {
    if (!s.is_string() || (s != core && !(type == "User" && s == kEnterpriseSchema))) {
      return refusal("invalidValue",
                     "schemas: " + s.dump() + " is not a schema of " + type + "s here");
    }
  }
  // id and meta are the service provider's; a password (writeOnly, returned never: RFC 7643
  // 4.1.1) is of no use to a hub that authenticates nobody, so it is dropped, never stored.
  for (const char* dropped : {"id", "meta", "password"}) {
    for (auto it = r.begin(); it != r.end(); ++it) {
      if (iequals(it.key(), dropped)) {
        r.erase(it);
        break;
      }
    }
  }
  if (type == "User") {
    const json* user_name = find_member(r, "userName");
    if (user_name == nullptr || !user_name->is_string() || user_name->get<std::string>().empty()) {
      return refusal("invalidValue", "userName: required, a non-empty string");
    }
    if (const json* active = find_member(r, "active"); active != nullptr && !active->is_boolean()) {
      return refusal("invalidValue", "active: must be true or false, got " + active->dump());
    }
    for (const char* text :
         {"externalId", "displayName", "title", "nickName", "userType", "locale"}) {
      if (const json* v = find_member(r, text); v != nullptr && !v->is_string() && !v->is_null()) {
        return refusal("invalidValue", std::string(text) + ": must be a string");
      }
    }
    if (const json* name = find_member(r, "name"); name != nullptr && !name->is_object()) {
      return refusal("invalidValue", "name: must be an object");
    }
    for (const char* multi : {"emails", "phoneNumbers", "addresses"}) {
      const json* v = find_member(r, multi);
      if (v == nullptr) continue;
      if (!v->is_array()) return refusal("invalidValue", std::string(multi) + ": must be an array");
      for (size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_object()) {
          return refusal("invalidValue",
                         std::string(multi) + "[" + std::to_string(i) + "]: must be an object");
        }
      }
    }
    if (const json* ext = find_member(r, kEnterpriseSchema)) {
      if (!ext->is_object())
        return refusal("invalidValue", std::string(kEnterpriseSchema) + ": must be an object");
      for (const char* text :
           {"employeeNumber", "costCenter", "organization", "division", "department"}) {
        if (const json* v = find_member(*ext, text);
            v != nullptr && !v->is_string() && !v->is_null()) {
          return refusal("invalidValue",
                         std::string(kEnterpriseSchema) + ":" + text + ": must be a string");
        }
      }
      if (const json* m = find_member(*ext, "manager");
          m != nullptr && !m->is_object() && !m->is_null()) {
        return refusal("invalidValue",
                       std::string(kEnterpriseSchema) + ":manager: must be an object with value");
      }
    }
  } else {
    const json* name = find_member(r, "displayName");
    if (name == nullptr || !name->is_string() || name->get<std::string>().empty()) {
      return refusal("invalidValue", "displayName: required, a non-empty string");
    }
    if (const json* members = find_member(r, "members")) {
      if (!members->is_array()) return refusal("invalidValue", "members: must be an array");
      for (size_t i = 0; i < members->size(); ++i) {
        const json* value =
            (*members)[i].is_object() ? find_member((*members)[i], "value") : nullptr;
        if (value == nullptr || !value->is_string()) {
          return refusal("invalidValue",
                         "members[" + std::to_string(i) + "].value: required, a string");
        }
      }
    }
  }
  const std::string now = google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(now_ms));
  const std::string created =
      before.is_object() && before.contains("meta") ? before["meta"].value("created", now) : now;
  r["id"] = id;
  r["meta"] = {
      {"resourceType", type}, {"created", created}, {"lastModified", now}, {"version", version}};
  return r;
}

std::string name_key(const std::string& type, const json& r) {
  const json* v = find_member(r, type == "User" ? "userName" : "displayName");
  return v != nullptr && v->is_string() ? lower(v->get<std::string>()) : std::string();
}

StatusOr<json> project(const json& resource, const json& params) {
  const bool include =
      params.contains("attributes") && !params["attributes"].get<std::string>().empty();
  const bool exclude = params.contains("excludedAttributes") &&
                       !params["excludedAttributes"].get<std::string>().empty();
  if (!include && !exclude) return resource;
  std::vector<AttrPath> paths;
  for (const std::string& item :
       split_list(params[include ? "attributes" : "excludedAttributes"].get<std::string>())) {
    auto path = parse_attr_path(item);
    if (!path.ok()) return path.status();
    paths.push_back(std::move(*path));
  }
  auto always = [](const std::string& key) { return key == "id" || key == "schemas"; };
  if (include) {
    json out = json::object();
    for (auto it = resource.begin(); it != resource.end(); ++it) {
      if (always(it.key())) out[it.key()] = it.value();
    }
    for (const AttrPath& p : paths) {
      const json* base = p.schema.empty() ? &resource : find_member(resource, p.schema);
      if (base == nullptr) continue;
      for (auto it = base->begin(); base->is_object() && it != base->end(); ++it) {
        if (!iequals(it.key(), p.name)) continue;
        json& target = p.schema.empty() ? out : out[p.schema];
        if (p.sub.empty() || !it.value().is_object()) {
          target[it.key()] = it.value();
        } else if (const json* sub = find_member(it.value(), p.sub)) {
          target[it.key()][p.sub] = *sub;
        }
      }
    }
    return out;
  }
  json out = resource;
  for (const AttrPath& p : paths) {
    json* base = p.schema.empty() ? &out : find_member(out, p.schema);
    if (base == nullptr || !base->is_object()) continue;
    for (auto it = base->begin(); it != base->end(); ++it) {
      if (!iequals(it.key(), p.name) || always(it.key())) continue;
      if (p.sub.empty()) {
        base->erase(it);
      } else if (it.value().is_object()) {
        for (auto s = it.value().begin(); s != it.value().end(); ++s) {
          if (iequals(s.key(), p.sub)) {
            it.value().erase(s);
            break;
          }
        }
      }
      break;
    }
  }
  return out;
}

StatusOr<json> list_response(std::vector<json> resources, const json& params,
                             const ListLimits& limits) {
  if (params.contains("filter")) {
    auto filter = parse_filter(params["filter"].get<std::string>(), limits.filter);
    if (!filter.ok()) return refusal("invalidFilter", "filter: " + filter.status().message());
    resources.erase(std::remove_if(resources.begin(), resources.end(),
                                   [&](const json& r) { return !matches(**filter, r); }),
                    resources.end());
  }
  if (params.contains("sortBy")) {
    auto path = parse_attr_path(params["sortBy"].get<std::string>());
    if (!path.ok()) return refusal("invalidPath", "sortBy: " + path.status().message());
    const std::string order =
        params.contains("sortOrder") ? params["sortOrder"].get<std::string>() : "ascending";
    if (order != "ascending" && order != "descending") {
      return refusal("invalidValue",
                     "sortOrder: must be ascending or descending, got '" + order + "'");
    }
    const bool exact = is_case_exact(*path);
    // Missing values sort last either way (RFC 7644 3.4.2.3).
    std::stable_sort(resources.begin(), resources.end(), [&](const json& a, const json& b) {
      const json* x = resolve(a, *path);
      const json* y = resolve(b, *path);
      if (x == nullptr || y == nullptr) return x != nullptr && y == nullptr;
      const int c = compare_values(*x, *y, exact);
      return order == "ascending" ? c < 0 : c > 0;
    });
  }
  std::string error;
  const size_t start = std::max<size_t>(1, positive(params, "startIndex", error).value_or(1));
  if (!error.empty()) return refusal("invalidValue", error);
  const size_t count =
      std::min(positive(params, "count", error).value_or(limits.max_results), limits.max_results);
  if (!error.empty()) return refusal("invalidValue", error);
  json page = json::array();
  for (size_t i = start - 1; i < resources.size() && page.size() < count; ++i) {
    auto projected = project(resources[i], params);
    if (!projected.ok()) return refusal("invalidPath", projected.status().message());
    page.push_back(std::move(*projected));
  }
  json out = {{"schemas", {kListSchema}},
              {"totalResults", resources.size()},
              {"startIndex", start},
              {"itemsPerPage", page.size()},
              {"Resources", std::move(page)}};
  return out;
}

json discovery(const std::string& which, const std::string& base, const HrScimConfig& config) {
  const std::string v2 = base + "/v2";
  if (which == "ServiceProviderConfig") {
    return {
        {"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"}},
        {"documentationUri", "https://www.rfc-editor.org/rfc/rfc7644"},
        {"patch", {{"supported", true}}},
        {"bulk", {{"supported", false}, {"maxOperations", 0}, {"maxPayloadSize", 0}}},
        {"filter", {{"supported", true}, {"maxResults", config.max_results}}},
        {"changePassword", {{"supported", false}}},
        {"sort", {{"supported", true}}},
        {"etag", {{"supported", true}}},
        {"authenticationSchemes",
         {{{"type", "oauthbearertoken"},
           {"name", "Bearer token"},
           {"description", "A per-client bearer token from the service's configuration"},
           {"primary", true}}}},
        {"meta",
         {{"resourceType", "ServiceProviderConfig"}, {"location", v2 + "/ServiceProviderConfig"}}}};
  }
  auto list = [](json items) {
    return json{{"schemas", {kListSchema}},
                {"totalResults", items.size()},
                {"startIndex", 1},
                {"itemsPerPage", items.size()},
                {"Resources", std::move(items)}};
  };
  if (which == "ResourceTypes") {
    return list(json::array(
        {{{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}},
          {"id", "User"},
          {"name", "User"},
          {"endpoint", "/Users"},
          {"schema", kUserSchema},
          {"schemaExtensions", {{{"schema", kEnterpriseSchema}, {"required", false}}}},
          {"meta", {{"resourceType", "ResourceType"}, {"location", v2 + "/ResourceTypes/User"}}}},
         {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}},
          {"id", "Group"},
          {"name", "Group"},
          {"endpoint", "/Groups"},
          {"schema", kGroupSchema},
          {"meta",
           {{"resourceType", "ResourceType"}, {"location", v2 + "/ResourceTypes/Group"}}}}}));
  }
  auto attr = [](const char* name, const char* type, bool multi, bool required, bool case_exact,
                 const char* mutability, const char* uniqueness) {
    return json{{"name", name},
                {"type", type},
                {"multiValued", multi},
                {"required", required},
                {"caseExact", case_exact},
                {"mutability", mutability},
                {"returned", "default"},
                {"uniqueness", uniqueness}};
  };
  json user_attrs =
      json::array({attr("userName", "string", false, true, false, "readWrite", "server"),
                   attr("externalId", "string", false, false, true, "readWrite", "none"),
                   attr("name", "complex", false, false, false, "readWrite", "none"),
                   attr("displayName", "string", false, false, false, "readWrite", "none"),
                   attr("title", "string", false, false, false, "readWrite", "none"),
                   attr("active", "boolean", false, false, false, "readWrite", "none"),
                   attr("emails", "complex", true, false, false, "readWrite", "none"),
                   attr("phoneNumbers", "complex", true, false, false, "readWrite", "none")});
  json enterprise_attrs =
      json::array({attr("employeeNumber", "string", false, false, false, "readWrite", "none"),
                   attr("costCenter", "string", false, false, false, "readWrite", "none"),
                   attr("organization", "string", false, false, false, "readWrite", "none"),
                   attr("division", "string", false, false, false, "readWrite", "none"),
                   attr("department", "string", false, false, false, "readWrite", "none"),
                   attr("manager", "complex", false, false, false, "readWrite", "none")});
  json group_attrs =
      json::array({attr("displayName", "string", false, true, false, "readWrite", "none"),
                   attr("members", "complex", true, false, false, "readWrite", "none")});
  auto schema = [&](const char* id, const char* name, json attributes) {
    return json{{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:Schema"}},
                {"id", id},
                {"name", name},
                {"attributes", std::move(attributes)},
                {"meta", {{"resourceType", "Schema"}, {"location", v2 + "/Schemas/" + id}}}};
  };
  return list(json::array({schema(kUserSchema, "User", user_attrs),
                           schema(kEnterpriseSchema, "EnterpriseUser", enterprise_attrs),
                           schema(kGroupSchema, "Group", group_attrs)}));
}

}  // namespace simpang::plugins::hr_scim
