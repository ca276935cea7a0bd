// SCIM PATCH; see scim_patch.h.
#include "scim_patch.h"

#include <algorithm>

namespace simpang::plugins::hr_scim {
namespace {

using nlohmann::json;

ScimError bad(std::string scim_type, std::string detail) {
  return ScimError{400, std::move(scim_type), std::move(detail)};
}

bool is_readonly(const AttrPath& path) {
  return path.schema.empty() && (iequals(path.name, "id") || iequals(path.name, "meta"));
}

// Entra ID sends booleans as the strings "True"/"False" in PATCH values; the RFC says boolean.
// Only `active`'s value is taken either way.
void coerce_active(const std::string& name, json& value) {
  if (iequals(name, "active") && value.is_string()) {
    if (iequals(value.get<std::string>(), "true"))
      value = true;
    else if (iequals(value.get<std::string>(), "false"))
      value = false;
  }
}

// The object an attribute lives in (the extension object for a schema-qualified path), made
// when `create`.
json* container(json& resource, const AttrPath& path, bool create) {
  if (path.schema.empty()) return &resource;
  json* ext = find_member(resource, path.schema);
  if (ext == nullptr && create) {
    resource[path.schema] = json::object();
    ext = &resource[path.schema];
    json& schemas = resource["schemas"];
    if (!schemas.is_array()) schemas = json::array();
    if (std::find(schemas.begin(), schemas.end(), json(path.schema)) == schemas.end()) {
      schemas.push_back(path.schema);
    }
  }
  return ext;
}

json& member(json& object, const std::string& name) {
  if (json* existing = find_member(object, name)) return *existing;
  return object[name];
}

// add/replace of `value` at an attribute (no filter).
std::optional<ScimError> set_attr(json& resource, const AttrPath& path, json value, bool add) {
  if (is_readonly(path)) return bad("mutability", "'" + path.text() + "' is readOnly");
  json* base = container(resource, path, true);
  if (!base->is_object()) return bad("invalidPath", "'" + path.text() + "' has no container");
  if (!path.sub.empty()) {
    json& parent = member(*base, path.name);
    if (parent.is_null()) parent = json::object();
    if (!parent.is_object()) {
      return bad("invalidPath",
                 "'" + path.name + "' is multi-valued: select elements with a filter");
    }
    coerce_active(path.sub, value);
    member(parent, path.sub) = std::move(value);
    return std::nullopt;
  }
  coerce_active(path.name, value);
  json& target = member(*base, path.name);
  if (add && target.is_array()) {
    if (value.is_array()) {
      for (json& v : value) {
        if (std::find(target.begin(), target.end(), v) == target.end())
          target.push_back(std::move(v));
      }
    } else {
      target.push_back(std::move(value));
    }
  } else if (add && target.is_object() && value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) member(target, it.key()) = it.value();
  } else {
    target = std::move(value);
  }
  return std::nullopt;
}

std::optional<ScimError> apply_without_path(json& resource, const std::string& op, json value) {
  if (!value.is_object()) {
    return bad("invalidValue",
               "an operation without 'path' takes an object of attributes as 'value'");
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    AttrPath path;
    if (iequals(it.key(), kEnterpriseSchema) && it.value().is_object()) {
      for (auto e = it.value().begin(); e != it.value().end(); ++e) {
        AttrPath ext{kEnterpriseSchema, e.key(), ""};
        if (auto error = set_attr(resource, ext, e.value(), op == "add")) return error;
      }
      continue;
    }
    if (iequals(it.key(), "schemas")) continue;
    auto parsed = parse_attr_path(it.key());
    if (!parsed.ok()) return bad("invalidPath", parsed.status().message());
    if (auto error = set_attr(resource, *parsed, it.value(), op == "add")) return error;
  }
  return std::nullopt;
}

// An element for `add` at `attr[type eq "work"].sub`: the filter's equality becomes a member.
std::optional<json> element_from_filter(const Filter& f) {
  if (f.kind != Filter::Kind::kCompare || f.op != "eq" || !f.attr.sub.empty()) return std::nullopt;
  return json{{f.attr.name, f.value}};
}

std::optional<ScimError> apply_filtered(json& resource, const std::string& op,
                                        const PatchPath& path, const json* value) {
  if (is_readonly(path.attr)) return bad("mutability", "'" + path.attr.text() + "' is readOnly");
  json* base = container(resource, path.attr, op == "add");
  json* list = base == nullptr ? nullptr : find_member(*base, path.attr.name);
  size_t hits = 0;
  if (list != nullptr && list->is_array()) {
    for (auto it = list->begin(); it != list->end();) {
      if (!matches(*path.filter, *it)) {
        ++it;
        continue;
      }
      ++hits;
      if (op == "remove") {
        if (path.filtered_sub.empty()) {
          it = list->erase(it);
          continue;
        }
        if (it->is_object()) {
          for (auto m = it->begin(); m != it->end(); ++m) {
            if (iequals(m.key(), path.filtered_sub)) {
              it->erase(m);
              break;
            }
          }
        }
      } else if (path.filtered_sub.empty()) {
        if (op == "replace" || !value->is_object() || !it->is_object()) {
          *it = *value;
        } else {
          for (auto m = value->begin(); m != value->end(); ++m) member(*it, m.key()) = m.value();
        }
      } else {
        member(*it, path.filtered_sub) = *value;
      }
      ++it;
    }
  } else if (list != nullptr && !list->is_null()) {
    return bad("invalidPath", "'" + path.attr.text() +
                                  "' is not multi-valued: a value filter selects nothing in it");
  }
  if (hits > 0) return std::nullopt;
  if (op == "add") {
    auto element = element_from_filter(*path.filter);
    if (!element) {
      return bad("noTarget", "no element of '" + path.attr.text() +
                                 "' matches the filter, and only a simple eq filter can make one");
    }
    if (path.filtered_sub.empty()) {
      if (value->is_object()) {
        for (auto m = value->begin(); m != value->end(); ++m) (*element)[m.key()] = m.value();
      }
    } else {
      (*element)[path.filtered_sub] = *value;
    }
    json& target = member(*base, path.attr.name);
    if (!target.is_array()) target = json::array();
    target.push_back(std::move(*element));
    return std::nullopt;
  }
  return bad("noTarget", "no element of '" + path.attr.text() + "' matches the filter");
}

std::optional<ScimError> remove_attr(json& resource, const AttrPath& path) {
  if (is_readonly(path)) return bad("mutability", "'" + path.text() + "' is readOnly");
  json* base = container(resource, path, false);
  if (base == nullptr) return std::nullopt;
  auto erase = [](json& object, const std::string& name) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (iequals(it.key(), name)) {
        object.erase(it);
        return;
      }
    }
  };
  if (path.sub.empty()) {
    if (path.schema.empty() && iequals(path.name, "userName")) {
      return bad("mutability", "'userName' is required and cannot be removed");
    }
    erase(*base, path.name);
    return std::nullopt;
  }
  json* parent = find_member(*base, path.name);
  if (parent == nullptr) return std::nullopt;
  if (parent->is_array()) {
    for (json& item : *parent) {
      if (item.is_object()) erase(item, path.sub);
    }
  } else if (parent->is_object()) {
    erase(*parent, path.sub);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ScimError> apply_patch(json& resource, const json& body, const PatchLimits& limits) {
  if (!body.is_object()) return bad("invalidSyntax", "the body must be a PatchOp object");
  const json* schemas = find_member(body, "schemas");
  if (schemas == nullptr || !schemas->is_array() ||
      std::find(schemas->begin(), schemas->end(), json(kPatchOpSchema)) == schemas->end()) {
    return bad("invalidSyntax", std::string("'schemas' must hold ") + kPatchOpSchema);
  }
  const json* ops = find_member(body, "Operations");
  if (ops == nullptr || !ops->is_array() || ops->empty()) {
    return bad("invalidSyntax", "'Operations' must be a non-empty array");
  }
  if (ops->size() > limits.max_operations) {
    return ScimError{413, "tooMany",
                     "at most " + std::to_string(limits.max_operations) +
                         " operations in one PATCH, got " + std::to_string(ops->size())};
  }
  json working = resource;
  for (size_t i = 0; i < ops->size(); ++i) {
    const json& operation = (*ops)[i];
    const std::string at = "Operations[" + std::to_string(i) + "]";
    const json* op_value = operation.is_object() ? find_member(operation, "op") : nullptr;
    if (op_value == nullptr || !op_value->is_string()) {
      return bad("invalidSyntax", at + ".op: required, one of add, replace, remove");
    }
    std::string op = op_value->get<std::string>();
    std::transform(op.begin(), op.end(), op.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (op != "add" && op != "replace" && op != "remove") {
      return bad("invalidSyntax", at + ".op: must be add, replace or remove, got '" + op + "'");
    }
    const json* path_value = find_member(operation, "path");
    const json* value = find_member(operation, "value");
    if (path_value != nullptr && !path_value->is_string()) {
      return bad("invalidPath", at + ".path: must be a string");
    }
    if (op != "remove" && value == nullptr) {
      return bad("invalidValue", at + ".value: required for " + op);
    }
    std::optional<ScimError> error;
    if (path_value == nullptr || path_value->get<std::string>().empty()) {
      if (op == "remove") return bad("noTarget", at + ": remove requires 'path'");
      error = apply_without_path(working, op, *value);
    } else {
      auto path = parse_patch_path(path_value->get<std::string>(), limits.filter);
      if (!path.ok()) return bad("invalidPath", at + ".path: " + path.status().message());
      if (path->filter) {
        error = apply_filtered(working, op, *path, value);
      } else if (op == "remove") {
        error = remove_attr(working, path->attr);
      } else {
        error = set_attr(working, path->attr, *value, op == "add");
      }
    }
    if (error) {
      error->detail = at + ": " + error->detail;
      return error;
    }
  }
  resource = std::move(working);
  return std::nullopt;
}

}  // namespace simpang::plugins::hr_scim
