// Statement queries; see xapi_query.h.
#include "xapi_query.h"

#include <algorithm>
#include <cstdlib>

#include "xapi_formats.h"
#include "xapi_statement.h"

namespace simpang::plugins::lms_xapi {
namespace {

using nlohmann::json;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}


std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += kDigits[static_cast<unsigned char>(c) >> 4];
    out += kDigits[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::optional<bool> read_bool(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Reads the query parameters into `q` (shared by a fresh query and a `more` token's contents).
std::optional<QueryError> read_parameters(const std::map<std::string, std::string>& params,
                                          StatementQuery& q) {
  for (const auto& [name, value] : params) {
    if (name == "statementId" || name == "voidedStatementId") {
      if (!is_uuid(value)) return QueryError{name, "must be a UUID, got '" + value + "'"};
      (name == "statementId" ? q.statement_id : q.voided_statement_id) = lower(value);
    } else if (name == "agent") {
      json agent = json::parse(value, nullptr, false);
      if (agent.is_discarded()) return QueryError{name, "must be an Agent or Group as JSON"};
      if (auto e = validate_agent(agent, "agent")) return QueryError{name, e->message()};
      q.agent = std::move(agent);
    } else if (name == "verb" || name == "activity") {
      if (!is_iri(value)) return QueryError{name, "must be an absolute IRI, got '" + value + "'"};
      (name == "verb" ? q.verb : q.activity) = value;
    } else if (name == "registration") {
      if (!is_uuid(value)) return QueryError{name, "must be a UUID, got '" + value + "'"};
      q.registration = lower(value);
    } else if (name == "related_activities" || name == "related_agents" || name == "ascending" ||
               name == "attachments") {
      const std::optional<bool> flag = read_bool(value);
      if (!flag) return QueryError{name, "must be true or false, got '" + value + "'"};
      if (name == "related_activities") q.related_activities = *flag;
      if (name == "related_agents") q.related_agents = *flag;
      if (name == "ascending") q.ascending = *flag;
      if (name == "attachments" && *flag) {
        return QueryError{name,
                          "true is not supported: this LRS does not store attachment content"};
      }
    } else if (name == "since" || name == "until") {
      const std::optional<int64_t> ms = parse_timestamp(value);
      if (!ms) return QueryError{name, "must be an ISO 8601 timestamp, got '" + value + "'"};
      (name == "since" ? q.since_ms : q.until_ms) = *ms;
    } else if (name == "limit") {
      char* end = nullptr;
      const long long n = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 0) {
        return QueryError{name, "must be a non-negative integer, got '" + value + "'"};
      }
      q.limit = static_cast<size_t>(n);
    } else if (name == "format") {
      if (value == "exact")
        q.format = Format::kExact;
      else if (value == "ids")
        q.format = Format::kIds;
      else if (value == "canonical")
        q.format = Format::kCanonical;
      else
        return QueryError{name, "must be ids, exact or canonical, got '" + value + "'"};
    } else {
      return QueryError{name, "unknown parameter of GET /statements"};
    }
  }
  const bool single = !q.statement_id.empty() || !q.voided_statement_id.empty();
  if (!q.statement_id.empty() && !q.voided_statement_id.empty()) {
    return QueryError{"voidedStatementId", "not allowed together with statementId"};
  }
  if (single) {
    for (const char* other : {"agent", "verb", "activity", "registration", "related_activities",
                              "related_agents", "since", "until", "limit", "ascending"}) {
      if (params.count(other) != 0) {
        return QueryError{other, "not allowed with statementId or voidedStatementId"};
      }
    }
  }
  return std::nullopt;
}

bool is_group(const json& actor) {
  return actor.is_object() && actor.value("objectType", "") == "Group";
}

// Whether `who` (an actor, authority, instructor, team or an Agent object) is the agent asked
// for: the same identifier, or a Group with a member that has it (xAPI-Communication.md 2.1.3).
bool is_agent(const json& who, const json& agent) {
  if (same_identifier(who, agent)) return true;
  if (is_group(who) && who.contains("member") && who["member"].is_array()) {
    for (const json& member : who["member"]) {
      if (same_identifier(member, agent)) return true;
    }
  }
  return false;
}

bool object_is_agent(const json& object, const json& agent) {
  const std::string type = object.value("objectType", "Activity");
  return (type == "Agent" || type == "Group") && is_agent(object, agent);
}

bool agent_matches(const json& s, const json& agent, bool broad) {
  if (is_agent(s.value("actor", json()), agent)) return true;
  const json object = s.value("object", json());
  if (object_is_agent(object, agent)) return true;
  if (!broad) return false;
  if (is_agent(s.value("authority", json()), agent)) return true;
  if (const auto c = s.find("context"); c != s.end()) {
    if (is_agent(c->value("instructor", json()), agent) ||
        is_agent(c->value("team", json()), agent)) {
      return true;
    }
  }
  if (object.value("objectType", "") == "SubStatement") {
    return agent_matches(object, agent, true);
  }
  return false;
}

bool activity_matches(const json& s, const std::string& id, bool broad) {
  const json object = s.value("object", json());
  if (object.value("objectType", "Activity") == "Activity" && object.value("id", "") == id) {
    return true;
  }
  if (!broad) return false;
  if (const auto c = s.find("context"); c != s.end()) {
    if (const auto ca = c->find("contextActivities"); ca != c->end() && ca->is_object()) {
      for (const auto& [kind, list] : ca->items()) {
        for (const json& activity : list) {
          if (activity.value("id", "") == id) return true;
        }
      }
    }
  }
  if (object.value("objectType", "") == "SubStatement") {
    return activity_matches(object, id, true);
  }
  return false;
}

json identifier_only(const json& who) {
  json out = json::object();
  if (who.contains("objectType")) out["objectType"] = who["objectType"];
  for (const char* ifi : {"mbox", "mbox_sha1sum", "openid", "account"}) {
    if (who.contains(ifi)) out[ifi] = who[ifi];
  }
  if (is_group(who) && who.contains("member")) {
    json members = json::array();
    for (const json& m : who["member"]) members.push_back(identifier_only(m));
    // An anonymous Group is known only by its members.
    if (out.size() == 1) out["member"] = members;
  }
  return out;
}

json ids_shape(const json& s) {
  json out = s;
  for (const char* who : {"actor", "authority"}) {
    if (out.contains(who)) out[who] = identifier_only(out[who]);
  }
  if (out.contains("verb")) out["verb"] = {{"id", out["verb"].value("id", "")}};
  if (out.contains("object")) {
    json& object = out["object"];
    const std::string type = object.value("objectType", "Activity");
    if (type == "Activity") {
      object = json{{"objectType", "Activity"}, {"id", object.value("id", "")}};
    } else if (type == "Agent" || type == "Group") {
      object = identifier_only(object);
    } else if (type == "SubStatement") {
      object = ids_shape(object);
    }
  }
  if (out.contains("context")) {
    json& c = out["context"];
    for (const char* who : {"instructor", "team"}) {
      if (c.contains(who)) c[who] = identifier_only(c[who]);
    }
    if (c.contains("contextActivities")) {
      for (auto& [kind, list] : c["contextActivities"].items()) {
        for (json& a : list) a = json{{"id", a.value("id", "")}};
      }
    }
  }
  return out;
}

void reduce_map(json& map, const std::vector<std::string>& languages) {
  if (!map.is_object() || map.size() <= 1) return;
  for (const std::string& wanted : languages) {
    for (const auto& [tag, text] : map.items()) {
      if (lower(tag) == lower(wanted) || lower(tag).rfind(lower(wanted) + "-", 0) == 0) {
        map = json{{tag, text}};
        return;
      }
    }
  }
  const auto first = map.begin();
  map = json{{first.key(), first.value()}};
}

void canonical_shape(json& s, const std::vector<std::string>& languages) {
  if (s.contains("verb") && s["verb"].contains("display"))
    reduce_map(s["verb"]["display"], languages);
  const auto definition = [&](json& activity) {
    if (!activity.is_object() || !activity.contains("definition")) return;
    json& d = activity["definition"];
    for (const char* map : {"name", "description"}) {
      if (d.contains(map)) reduce_map(d[map], languages);
    }
    for (const char* list : {"choices", "scale", "source", "target", "steps"}) {
      if (!d.contains(list)) continue;
      for (json& c : d[list]) {
        if (c.contains("description")) reduce_map(c["description"], languages);
      }
    }
  };
  if (s.contains("object")) {
    json& object = s["object"];
    if (object.value("objectType", "Activity") == "Activity") definition(object);
    if (object.value("objectType", "") == "SubStatement") canonical_shape(object, languages);
  }
  if (s.contains("context") && s["context"].contains("contextActivities")) {
    for (auto& [kind, list] : s["context"]["contextActivities"].items()) {
      for (json& a : list) definition(a);
    }
  }
  if (s.contains("attachments")) {
    for (json& a : s["attachments"]) {
      for (const char* map : {"display", "description"}) {
        if (a.contains(map)) reduce_map(a[map], languages);
      }
    }
  }
}

}  // namespace


std::variant<StatementQuery, QueryError> parse_query(std::string_view query) {
  auto params = decode_query(query);
  if (!params) return QueryError{"(query)", "malformed percent-encoding"};
  StatementQuery q;
  if (const auto more = params->find("more"); more != params->end()) {
    if (params->size() != 1) {
      return QueryError{"more", "must be the only parameter (it carries the query)"};
    }
    const std::optional<std::string> text = hex_decode(more->second);
    const json token = text ? json::parse(*text, nullptr, false) : json();
    if (!token.is_object() || !token.contains("p") || !token["p"].is_object() ||
        !token.contains("after") || !token["after"].is_number_integer()) {
      return QueryError{"more", "not a token this LRS issued"};
    }
    std::map<std::string, std::string> inner;
    for (const auto& [name, value] : token["p"].items()) {
      if (!value.is_string()) return QueryError{"more", "not a token this LRS issued"};
      inner[name] = value.get<std::string>();
    }
    if (auto e = read_parameters(inner, q)) return QueryError{"more", e->message()};
    q.after_seq = token["after"].get<int64_t>();
    return q;
  }
  if (auto e = read_parameters(*params, q)) return *e;
  return q;
}

bool same_identifier(const json& a, const json& b) {
  if (!a.is_object() || !b.is_object()) return false;
  for (const char* ifi : {"mbox", "mbox_sha1sum", "openid"}) {
    if (a.contains(ifi) && b.contains(ifi) && a[ifi].is_string() && a[ifi] == b[ifi]) return true;
  }
  if (a.contains("account") && b.contains("account")) {
    const json& x = a["account"];
    const json& y = b["account"];
    return x.value("homePage", "") == y.value("homePage", "") &&
           x.value("name", "") == y.value("name", "") && x.contains("name");
  }
  return false;
}

bool matches(const StatementQuery& q, const json& s) {
  if (q.agent && !agent_matches(s, *q.agent, q.related_agents)) return false;
  if (!q.verb.empty() && s.value("verb", json::object()).value("id", "") != q.verb) return false;
  if (!q.activity.empty() && !activity_matches(s, q.activity, q.related_activities)) return false;
  if (!q.registration.empty()) {
    const auto c = s.find("context");
    if (c == s.end() || lower(c->value("registration", "")) != q.registration) return false;
  }
  return true;
}

json shape(const json& statement, Format format, const std::vector<std::string>& languages) {
  switch (format) {
    case Format::kExact:
      return statement;
    case Format::kIds:
      return ids_shape(statement);
    case Format::kCanonical: {
      json out = statement;
      canonical_shape(out, languages);
      return out;
    }
  }
  return statement;
}

std::vector<std::string> accepted_languages(std::string_view header) {
  std::vector<std::pair<double, std::string>> ranges;
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    std::string part(header.substr(start, end - start));
    double q = 1;
    if (const size_t semi = part.find(';'); semi != std::string::npos) {
      const size_t eq = part.find("q=", semi);
      if (eq != std::string::npos) q = std::atof(part.c_str() + eq + 2);
      part = part.substr(0, semi);
    }
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty() && part != "*" && q > 0) ranges.emplace_back(q, part);
    start = end + 1;
  }
  std::stable_sort(ranges.begin(), ranges.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& [q, tag] : ranges) out.push_back(std::move(tag));
  return out;
}

std::string more_token(const StatementQuery& q, int64_t last_seq) {
  json p = json::object();
  if (q.agent) p["agent"] = q.agent->dump();
  if (!q.verb.empty()) p["verb"] = q.verb;
  if (!q.activity.empty()) p["activity"] = q.activity;
  if (!q.registration.empty()) p["registration"] = q.registration;
  if (q.related_activities) p["related_activities"] = "true";
  if (q.related_agents) p["related_agents"] = "true";
  if (q.since_ms) p["since"] = format_timestamp(*q.since_ms);
  if (q.until_ms) p["until"] = format_timestamp(*q.until_ms);
  if (q.limit != 0) p["limit"] = std::to_string(q.limit);
  if (q.ascending) p["ascending"] = "true";
  p["format"] = q.format == Format::kIds         ? "ids"
                : q.format == Format::kCanonical ? "canonical"
                                                 : "exact";
  return hex_encode(json{{"p", p}, {"after", last_seq}}.dump());
}

}  // namespace simpang::plugins::lms_xapi
