// Statement validation, part one: values, language maps, extensions, Agents and Groups, the verb.
// See xapi_checker.h.
#include "xapi_checker.h"

#include "xapi_formats.h"

namespace simpang::plugins::lms_xapi::internal {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) {
    text = text.substr(0, 57) + "...";
  }
  return text;
}

const char* kind_of(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unusable value";
  }
}

bool Checker::fail(const std::string& path, std::string rule) {
  error = StatementError{path, std::move(rule)};
  return false;
}

// `value` is an object whose properties are all in `allowed`.
bool Checker::object(const json& value, const std::string& path,
                     std::initializer_list<std::string_view> allowed) {
  if (!value.is_object()) {
    return fail(path, std::string("must be an object, got ") + kind_of(value));
  }
  for (const auto& [key, member] : value.items()) {
    bool known = false;
    for (const std::string_view name : allowed) {
      known = known || key == name;
    }
    if (!known) {
      std::string names;
      for (const std::string_view name : allowed) {
        names += (names.empty() ? "" : ", ") + std::string(name);
      }
      return fail(join(path, key), "unknown property (allowed here: " + names + ")");
    }
    if (member.is_null()) {
      return fail(join(path, key), "must not be null");
    }
  }
  return true;
}

bool Checker::string(const json& value, const std::string& path) {
  return value.is_string() || fail(path, std::string("must be a string, got ") + kind_of(value));
}

bool Checker::iri(const json& value, const std::string& path) {
  if (!string(value, path)) {
    return false;
  }
  return is_iri(value.get_ref<const std::string&>()) ||
         fail(path, "must be an absolute IRI (scheme:...), got " + shown(value));
}

bool Checker::uuid(const json& value, const std::string& path) {
  if (!string(value, path)) {
    return false;
  }
  return is_uuid(value.get_ref<const std::string&>()) ||
         fail(path, "must be a UUID (8-4-4-4-12 hex digits), got " + shown(value));
}

bool Checker::timestamp(const json& value, const std::string& path) {
  if (!string(value, path)) {
    return false;
  }
  return parse_timestamp(value.get_ref<const std::string&>()).has_value() ||
         fail(path, "must be an ISO 8601 timestamp (offset not -00:00), got " + shown(value));
}

bool Checker::boolean(const json& value, const std::string& path) {
  return value.is_boolean() ||
         fail(path, std::string("must be true or false, got ") + kind_of(value));
}

bool Checker::number(const json& value, const std::string& path) {
  return value.is_number() || fail(path, std::string("must be a number, got ") + kind_of(value));
}

bool Checker::language_map(const json& value, const std::string& path) {
  if (!value.is_object()) {
    return fail(path, std::string("must be a language map (an object), got ") + kind_of(value));
  }
  for (const auto& [tag, text] : value.items()) {
    if (!is_language_tag(tag)) {
      return fail(join(path, tag), "language map key must be an RFC 5646 language tag");
    }
    if (!text.is_string()) {
      return fail(join(path, tag), std::string("must be a string, got ") + kind_of(text));
    }
  }
  return true;
}

bool Checker::extensions(const json& value, const std::string& path) {
  if (!value.is_object()) {
    return fail(path, std::string("must be an object keyed by IRIs, got ") + kind_of(value));
  }
  for (const auto& [key, member] : value.items()) {
    if (!is_iri(key)) {
      return fail(join(path, key), "extension key must be an absolute IRI");
    }
  }
  return true;
}

// The inverse functional identifiers present in an Agent or Group; -1 if one is malformed.
int Checker::identifiers(const json& value, const std::string& path) {
  int count = 0;
  if (const auto it = value.find("mbox"); it != value.end()) {
    ++count;
    if (!string(*it, join(path, "mbox"))) return -1;
    if (!is_mailto(it->get_ref<const std::string&>())) {
      fail(join(path, "mbox"), "must be a mailto IRI (mailto:name@host), got " + shown(*it));
      return -1;
    }
  }
  if (const auto it = value.find("mbox_sha1sum"); it != value.end()) {
    ++count;
    if (!string(*it, join(path, "mbox_sha1sum"))) return -1;
    if (!is_sha1_hex(it->get_ref<const std::string&>())) {
      fail(join(path, "mbox_sha1sum"), "must be 40 hexadecimal digits, got " + shown(*it));
      return -1;
    }
  }
  if (const auto it = value.find("openid"); it != value.end()) {
    ++count;
    if (!iri(*it, join(path, "openid"))) return -1;
  }
  if (const auto it = value.find("account"); it != value.end()) {
    ++count;
    const std::string account = join(path, "account");
    if (!object(*it, account, {"homePage", "name"})) return -1;
    if (!it->contains("homePage")) {
      fail(join(account, "homePage"), "required in an account");
      return -1;
    }
    if (!it->contains("name")) {
      fail(join(account, "name"), "required in an account");
      return -1;
    }
    if (!iri((*it)["homePage"], join(account, "homePage")) ||
        !string((*it)["name"], join(account, "name"))) {
      return -1;
    }
  }
  return count;
}

bool Checker::agent(const json& value, const std::string& path) {
  if (!object(value, path, {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"})) {
    return false;
  }
  if (value.contains("objectType") && value["objectType"] != "Agent") {
    return fail(join(path, "objectType"),
                "must be \"Agent\" here, got " + shown(value["objectType"]));
  }
  if (value.contains("name") && !string(value["name"], join(path, "name"))) {
    return false;
  }
  const int ifis = identifiers(value, path);
  if (ifis < 0) {
    return false;
  }
  if (ifis != 1) {
    return fail(path,
                "an Agent must have exactly one inverse functional identifier (mbox, "
                "mbox_sha1sum, openid or account), it has " +
                    std::to_string(ifis));
  }
  return true;
}

bool Checker::group(const json& value, const std::string& path) {
  if (!object(value, path,
              {"objectType", "name", "member", "mbox", "mbox_sha1sum", "openid", "account"})) {
    return false;
  }
  if (value.contains("name") && !string(value["name"], join(path, "name"))) {
    return false;
  }
  const int ifis = identifiers(value, path);
  if (ifis < 0) {
    return false;
  }
  if (ifis > 1) {
    return fail(path, "a Group must have at most one inverse functional identifier, it has " +
                          std::to_string(ifis));
  }
  if (const auto it = value.find("member"); it != value.end()) {
    const std::string members = join(path, "member");
    if (!it->is_array()) {
      return fail(members, std::string("must be an array of Agents, got ") + kind_of(*it));
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const json& m = (*it)[i];
      if (m.is_object() && m.contains("objectType") && m["objectType"] == "Group") {
        return fail(index(members, i), "a Group's members must be Agents, not Groups");
      }
      if (!agent(m, index(members, i))) {
        return false;
      }
    }
    if (ifis == 0 && it->empty()) {
      return fail(members, "an anonymous Group must list at least one member");
    }
  } else if (ifis == 0) {
    return fail(path, "an anonymous Group (no identifier) must have a member list");
  }
  return true;
}

// An actor, instructor or authority: an Agent (objectType optional) or a Group.
bool Checker::actor(const json& value, const std::string& path) {
  if (value.is_object() && value.contains("objectType") && value["objectType"] == "Group") {
    return group(value, path);
  }
  return agent(value, path);
}

bool Checker::verb(const json& value, const std::string& path) {
  if (!object(value, path, {"id", "display"})) {
    return false;
  }
  if (!value.contains("id")) {
    return fail(join(path, "id"), "required: a verb is identified by an IRI");
  }
  return iri(value["id"], join(path, "id")) &&
         (!value.contains("display") || language_map(value["display"], join(path, "display")));
}

}  // namespace simpang::plugins::lms_xapi::internal
