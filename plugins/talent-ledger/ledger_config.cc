#include "ledger_config.h"

#include <google/protobuf/util/time_util.h>

#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::talent_ledger {

using simpang::sdk::ConfigError;
using simpang::sdk::ConfigReader;

std::optional<int64_t> parse_date_micros(const std::string& text) {
  std::string t = text;
  if (t.size() == 10) {
    t += "T00:00:00Z";
  }
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(t, &ts)) {
    return std::nullopt;
  }
  return google::protobuf::util::TimeUtil::TimestampToMicroseconds(ts);
}

namespace {

const char* const kSegments[] = {"student", "educator", "government", "industry"};

Targets parse_targets(ConfigReader r) {
  Targets t;
  t.learners = r.optional<uint64_t>("learners", 0);
  t.partners = r.optional<uint64_t>("partners", 0);
  if (auto end = r.get<std::string>("end_date")) {
    t.end_date_micros = parse_date_micros(*end);
    if (!t.end_date_micros) {
      throw r.error("end_date",
                    "must be a date (YYYY-MM-DD) or an RFC 3339 time, got '" + *end + "'");
    }
  }
  t.counts = r.optional<std::string>("counts", "enrolled");
  if (t.counts != "registered" && t.counts != "enrolled" && t.counts != "completed" &&
      t.counts != "certified") {
    throw r.error("counts",
                  "must be registered, enrolled, completed or certified, got '" + t.counts + "'");
  }
  ConfigReader seg = r.nested("by_segment");
  for (const char* name : kSegments) {
    if (auto v = seg.get<uint64_t>(name)) {
      t.by_segment[name] = *v;
    }
  }
  seg.reject_unknown();
  r.reject_unknown();
  return t;
}

std::vector<IdentityRule> parse_rules(ConfigReader r) {
  std::vector<IdentityRule> rules;
  if (!r.has("rules")) {
    r.reject_unknown();
    return {IdentityRule{"email", IdentityRule::Kind::kEmail, "", false}};
  }
  const nlohmann::json list = r.required<nlohmann::json>("rules");
  if (!list.is_array()) {
    throw r.error("rules", "must be a list of rules");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    ConfigReader one(list[i], r.path_of("rules") + "[" + std::to_string(i) + "]");
    IdentityRule rule;
    const std::string kind = one.required<std::string>("kind");
    rule.name = one.optional<std::string>("name", kind);
    if (kind == "email") {
      rule.kind = IdentityRule::Kind::kEmail;
    } else if (kind == "external_id") {
      rule.kind = IdentityRule::Kind::kExternalId;
      rule.system = one.required<std::string>("system");
      rule.hashed = one.optional<bool>("hashed", false);
      if (rule.system.empty()) {
        throw one.error("system", "must not be empty");
      }
    } else if (kind == "name" || kind == "display_name") {
      throw one.error("kind", "a name alone never identifies a person: use email or external_id");
    } else {
      throw one.error("kind", "must be email or external_id, got '" + kind + "'");
    }
    one.reject_unknown();
    rules.push_back(std::move(rule));
  }
  r.reject_unknown();
  return rules;
}

}  // namespace

LedgerConfig parse_ledger_config(const nlohmann::json& config) {
  ConfigReader r(config);
  LedgerConfig c;
  const std::string backend = r.optional<std::string>("backend", "sqlite");
  if (backend == "postgresql") {
    c.backend = LedgerConfig::Backend::kPostgresql;
    c.dsn = r.required<std::string>("dsn");
  } else if (backend != "sqlite") {
    throw r.error("backend", "must be sqlite or postgresql, got '" + backend + "'");
  }
  c.database = r.optional<std::filesystem::path>("database", "ledger.db");
  const std::string sync = r.optional<std::string>("sync", "normal");
  if (sync != "normal" && sync != "full") {
    throw r.error("sync", "must be normal or full, got '" + sync + "'");
  }
  c.sync_full = sync == "full";
  c.targets = parse_targets(r.nested("targets"));
  c.rules = parse_rules(r.nested("identity"));
  r.reject_unknown();
  return c;
}

}  // namespace simpang::plugins::talent_ledger
