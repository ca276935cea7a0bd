// The `partner_door:` and `partners:` sections (config/partners_config.h, partners_section.h).
// Secrets are resolved through the same reference grammar as plugin configs (`${file:}`,
// `${env:}`, config/secret_refs.h), and a problem with one is reported at the reference itself.
#include "config/partners_config.h"

#include <zmq.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "config/did_you_mean.h"
#include "config/partners_section.h"
#include "config/yaml_to_json.h"
#include "router/route_table.h"
#include "security/curve_keys.h"

namespace simpang::hub {
namespace config_internal {
namespace {

const std::vector<std::string> kDoorKeys = {"listen", "secret_key", "max_connections"};
const std::vector<std::string> kPartnerKeys = {"name", "curve_public_key", "http", "publish",
                                               "quotas"};
const std::vector<std::string> kHttpKeys = {"token", "webhook_secrets"};
const std::vector<std::string> kPublishKeys = {"types", "source_prefix"};
const std::vector<std::string> kQuotaKeys = {"events_per_second", "bytes_per_second", "max_unacked",
                                             "max_backlog"};
constexpr size_t kMaxPartnerName = 64;
constexpr uint64_t kMaxConnections = 65536;
constexpr uint32_t kMaxUnacked = 1024;  // the hub section's bound for max_unacked

// The instance names' rule: a partner's name stands where an instance's does (routes' `from`).
bool valid_partner_name(std::string_view name) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !name.empty() && name.size() <= kMaxPartnerName && lower_or_digit(name.front()) &&
         std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

// A secret: the value with its references resolved, and as written.
struct Secret {
  std::string value;
  std::string shown;
};

class PartnersLoader {
 public:
  PartnersLoader(YamlReader& reader, Config& config) : reader_(reader), config_(config) {}

  void load_door(const Entry& entry);
  void load_partners(const Entry& entry);

 private:
  void load_partner(const YAML::Node& item, size_t index);
  void load_http(const Entry& entry, const std::string& owner, PartnerConfig& partner);
  void load_publish(const Entry& entry, const std::string& owner, PartnerConfig& partner);
  void load_quotas(const Entry& entry, const std::string& owner, PartnerQuotas& quotas);
  // One string whose ${...} references are resolved; reported (at the reference) and nullopt
  // when it cannot be.
  std::optional<Secret> secret(const Entry& entry, const std::string& what);
  std::optional<Secret> secret_node(const YAML::Node& node, const std::string& what);
  std::vector<Secret> secret_list(const Entry& entry, const std::string& what);

  YamlReader& reader_;
  Config& config_;
  std::map<std::string, int> names_;           // partner name -> line
  std::map<std::string, std::string> keys_;    // curve key -> partner
  std::map<std::string, std::string> tokens_;  // http token -> partner
};

std::optional<Secret> PartnersLoader::secret_node(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    reader_.error(node.Mark(), what + " must be a non-empty string; found " + describe(node));
    return std::nullopt;
  }
  std::vector<YamlProblem> problems;
  const ReferenceContext references{reader_.text(), reader_.dir()};
  nlohmann::json value = yaml_to_json(node, problems, &references);
  for (const YamlProblem& p : problems) {
    reader_.error(p.mark, "in " + what + ": " + p.message);
  }
  if (!problems.empty()) {
    return std::nullopt;
  }
  if (!value.is_string()) {
    // A plain scalar that reads as a number or a boolean: secrets are strings; quote it.
    return Secret{node.Scalar(), node.Scalar()};
  }
  return Secret{value.get<std::string>(), node.Scalar()};
}

std::optional<Secret> PartnersLoader::secret(const Entry& entry, const std::string& what) {
  if (entry.value.IsNull()) {
    reader_.error(entry.key.Mark(), what + " needs a value");
    return std::nullopt;
  }
  return secret_node(entry.value, what);
}

std::vector<Secret> PartnersLoader::secret_list(const Entry& entry, const std::string& what) {
  std::vector<Secret> out;
  if (entry.value.IsSequence()) {
    if (entry.value.size() == 0) {
      reader_.error(entry.value.Mark(), what + " must not be an empty list");
    }
    size_t i = 0;
    for (const YAML::Node& item : entry.value) {
      if (auto s = secret_node(item, what + "[" + std::to_string(i++) + "]")) {
        out.push_back(std::move(*s));
      }
    }
  } else if (auto s = secret(entry, what)) {
    out.push_back(std::move(*s));
  }
  return out;
}

void PartnersLoader::load_door(const Entry& entry) {
  PartnerDoorConfig& door = config_.partner_door;
  door.where = reader_.location(entry.key.Mark());
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsMap()) {
    reader_.error(entry.value.Mark(),
                  "'partner_door' must be a mapping (listen, secret_key, "
                  "max_connections); found " +
                      describe(entry.value));
    return;
  }
  auto entries = reader_.read_map(entry.value, "the 'partner_door' section", &kDoorKeys);
  if (const Entry* e = YamlReader::find(entries, "max_connections")) {
    if (auto v = reader_.get_uint(*e, "partner_door.max_connections", 1, kMaxConnections)) {
      door.max_connections = static_cast<uint32_t>(*v);
    }
  }
  const Entry* listen = YamlReader::find(entries, "listen");
  if (listen == nullptr) {
    return;  // no door: the section only holds settings for when there is one
  }
  if (auto s = reader_.get_string(*listen, "partner_door.listen")) {
    if (!s->starts_with("tcp://") || s->find(':', 6) == std::string::npos) {
      reader_.error(listen->value.Mark(),
                    "partner_door.listen must be a tcp:// endpoint with a port, e.g. "
                    "tcp://0.0.0.0:7400; found '" +
                        *s + "'");
    } else {
      door.listen = *s;
    }
  }
  const Entry* key = YamlReader::find(entries, "secret_key");
  if (key == nullptr) {
    reader_.error(entry.key.Mark(),
                  "partner_door has 'listen' but no 'secret_key': the hub's CURVE secret key is "
                  "required (make one with `simpang keys new hub`, then secret_key: "
                  "${file:hub.key})");
    return;
  }
  if (auto s = secret(*key, "partner_door.secret_key")) {
    StatusOr<std::string> parsed = parse_curve_key(s->value, "partner_door.secret_key");
    if (!parsed.ok()) {
      reader_.error(key->value.Mark(), parsed.status().message());
      return;
    }
    std::array<char, 41> public_key{};
    if (zmq_curve_public(public_key.data(), parsed->c_str()) != 0) {
      reader_.error(key->value.Mark(),
                    std::string("partner_door.secret_key: cannot derive the public key: ") +
                        zmq_strerror(zmq_errno()));
      return;
    }
    door.secret_key = *parsed;
    door.secret_key_shown = s->shown;
    door.public_key = std::string(public_key.data(), 40);
  }
}

void PartnersLoader::load_partners(const Entry& entry) {
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsSequence()) {
    reader_.error(entry.value.Mark(),
                  "'partners' must be a list of partners (each starting with '- name:'); found " +
                      describe(entry.value));
    return;
  }
  size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    load_partner(item, ++index);
  }
}

void PartnersLoader::load_partner(const YAML::Node& item, size_t index) {
  std::string owner = "partner #" + std::to_string(index);
  if (!item.IsMap()) {
    reader_.error(
        reader_.item_mark(item),
        owner + " must be a mapping with at least 'name' and 'publish'; found " + describe(item));
    return;
  }
  PartnerConfig partner;
  partner.where = reader_.location(item.Mark());
  if (item["name"].IsScalar() && !item["name"].Scalar().empty()) {
    owner = "partner '" + item["name"].Scalar() + "'";
  }
  auto entries = reader_.read_map(item, owner, &kPartnerKeys);

  if (const Entry* e = YamlReader::find(entries, "name"); e == nullptr) {
    reader_.error(item.Mark(), owner + " is missing required key 'name'");
  } else if (auto name = reader_.get_string(*e, "'name' of " + owner)) {
    partner.name = *name;
    if (!valid_partner_name(*name)) {
      reader_.error(e->value.Mark(), "partner name '" + *name +
                                         "' is invalid: use lower-case letters, digits, '_' and "
                                         "'-', starting with a letter or digit, at most " +
                                         std::to_string(kMaxPartnerName) + " characters");
    } else if (auto [it, inserted] = names_.emplace(*name, partner.where.line); !inserted) {
      reader_.error(e->value.Mark(), "duplicate partner name '" + *name +
                                         "' (first defined at line " + std::to_string(it->second) +
                                         ")");
    } else if (config_.find_plugin(*name) != nullptr) {
      reader_.error(e->value.Mark(),
                    "partner name '" + *name + "' is also the name of a plugin instance (line " +
                        std::to_string(config_.find_plugin(*name)->where.line) +
                        "): routes name both in 'from', so each name must be one or the other");
    }
  }

  if (const Entry* e = YamlReader::find(entries, "curve_public_key")) {
    if (auto s = secret(*e, "'curve_public_key' of " + owner)) {
      StatusOr<std::string> key = parse_curve_key(s->value, "'curve_public_key' of " + owner);
      if (!key.ok()) {
        reader_.error(e->value.Mark(), key.status().message());
      } else if (auto [it, inserted] = keys_.emplace(*key, partner.name); !inserted) {
        reader_.error(e->value.Mark(), "'curve_public_key' of " + owner +
                                           " is the same key as partner '" + it->second +
                                           "''s: a key must identify one partner");
      } else if (*key == config_.partner_door.public_key) {
        reader_.error(e->value.Mark(),
                      "'curve_public_key' of " + owner +
                          " is the hub's own public key (partner_door.secret_key)");
      } else {
        partner.curve_public_key = *key;
        partner.curve_public_key_shown = s->shown;
      }
    }
  }
  if (const Entry* e = YamlReader::find(entries, "http")) {
    load_http(*e, owner, partner);
  }
  if (const Entry* e = YamlReader::find(entries, "publish"); e == nullptr) {
    reader_.error(item.Mark(), owner +
                                   " is missing required key 'publish' (types: the event "
                                   "types it may publish; source_prefix: the sources it may "
                                   "claim)");
  } else {
    load_publish(*e, owner, partner);
  }
  if (const Entry* e = YamlReader::find(entries, "quotas")) {
    load_quotas(*e, owner, partner.quotas);
  }
  if (YamlReader::find(entries, "curve_public_key") == nullptr && !partner.has_http) {
    reader_.error(item.Mark(), owner +
                                   " has no credentials: give it a 'curve_public_key' (the "
                                   "tcp door) or an 'http' section (source-http), or both");
  }
  config_.partners.push_back(std::move(partner));
}

void PartnersLoader::load_http(const Entry& entry, const std::string& owner,
                               PartnerConfig& partner) {
  if (!entry.value.IsMap()) {
    reader_.error(YamlReader::value_mark(entry),
                  "'http' of " + owner + " must be a mapping (token, webhook_secrets); found " +
                      describe(entry.value));
    return;
  }
  auto entries = reader_.read_map(entry.value, "'http' of " + owner, &kHttpKeys);
  partner.has_http = true;
  if (const Entry* e = YamlReader::find(entries, "token")) {
    for (Secret& s : secret_list(*e, "'http.token' of " + owner)) {
      if (auto [it, inserted] = tokens_.emplace(s.value, partner.name); !inserted) {
        reader_.error(e->value.Mark(), "'http.token' of " + owner +
                                           " is the same token as partner '" + it->second +
                                           "''s: a token must identify one partner");
        continue;
      }
      partner.http_tokens.push_back(std::move(s.value));
      partner.http_tokens_shown.push_back(std::move(s.shown));
    }
  }
  if (const Entry* e = YamlReader::find(entries, "webhook_secrets")) {
    for (Secret& s : secret_list(*e, "'http.webhook_secrets' of " + owner)) {
      partner.webhook_secrets.push_back(std::move(s.value));
      partner.webhook_secrets_shown.push_back(std::move(s.shown));
    }
  }
  if (YamlReader::find(entries, "token") == nullptr &&
      YamlReader::find(entries, "webhook_secrets") == nullptr) {
    reader_.error(entry.value.Mark(),
                  "'http' of " + owner + " needs a 'token' or 'webhook_secrets' (or both)");
  }
}

void PartnersLoader::load_publish(const Entry& entry, const std::string& owner,
                                  PartnerConfig& partner) {
  if (!entry.value.IsMap()) {
    reader_.error(YamlReader::value_mark(entry), "'publish' of " + owner +
                                                     " must be a mapping (types, source_prefix); "
                                                     "found " +
                                                     describe(entry.value));
    return;
  }
  auto entries = reader_.read_map(entry.value, "'publish' of " + owner, &kPublishKeys);
  if (const Entry* e = YamlReader::find(entries, "types"); e == nullptr) {
    reader_.error(entry.value.Mark(), "'publish' of " + owner +
                                          " is missing required key 'types' (e.g. "
                                          "[\"talent.**\"])");
  } else {
    for (auto& [pattern, node] :
         reader_.get_string_list(*e, "'publish.types' of " + owner, "an event type pattern")) {
      if (Status valid = validate_type_pattern(pattern); !valid.ok()) {
        reader_.error(node.Mark(), "'publish.types' of " + owner + " has an invalid pattern '" +
                                       pattern + "': " + valid.message());
        continue;
      }
      partner.types.push_back(pattern);
    }
  }
  if (const Entry* e = YamlReader::find(entries, "source_prefix"); e == nullptr) {
    reader_.error(entry.value.Mark(), "'publish' of " + owner +
                                          " is missing required key 'source_prefix' (e.g. "
                                          "\"/partners/" +
                                          (partner.name.empty() ? "NAME" : partner.name) + "/\")");
  } else if (auto s = reader_.get_string(*e, "'publish.source_prefix' of " + owner)) {
    partner.source_prefix = *s;
  }
}

void PartnersLoader::load_quotas(const Entry& entry, const std::string& owner,
                                 PartnerQuotas& quotas) {
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsMap()) {
    reader_.error(entry.value.Mark(), "'quotas' of " + owner +
                                          " must be a mapping (events_per_second, "
                                          "bytes_per_second, max_unacked, max_backlog); found " +
                                          describe(entry.value));
    return;
  }
  auto entries = reader_.read_map(entry.value, "'quotas' of " + owner, &kQuotaKeys);
  if (const Entry* e = YamlReader::find(entries, "events_per_second")) {
    if (auto v = reader_.get_uint(*e, "'quotas.events_per_second' of " + owner, 1, 100'000'000)) {
      quotas.events_per_second = *v;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "bytes_per_second")) {
    const std::string what = "'quotas.bytes_per_second' of " + owner;
    std::optional<uint64_t> bytes =
        e->value.IsScalar() ? parse_byte_size(e->value.Scalar()) : std::nullopt;
    if (!bytes) {
      reader_.error(YamlReader::value_mark(*e),
                    what + " must be a size in bytes, e.g. 1048576, 512KiB or 1MiB; found " +
                        describe(e->value));
    } else {
      quotas.bytes_per_second = *bytes;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "max_unacked")) {
    if (auto v = reader_.get_uint(*e, "'quotas.max_unacked' of " + owner, 1, kMaxUnacked)) {
      quotas.max_unacked = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = YamlReader::find(entries, "max_backlog")) {
    if (auto v = reader_.get_uint(*e, "'quotas.max_backlog' of " + owner, 1,
                                  std::numeric_limits<uint32_t>::max())) {
      quotas.max_backlog = *v;
    }
  }
}

// The client entry source-http reads (plugins/source-http/source_http_config.cc), from one
// partner: its secrets resolved, or as written.
nlohmann::json http_client(const PartnerConfig& partner, bool shown) {
  nlohmann::json client = {
      {"name", partner.name}, {"types", partner.types}, {"source_prefix", partner.source_prefix}};
  const auto& tokens = shown ? partner.http_tokens_shown : partner.http_tokens;
  const auto& secrets = shown ? partner.webhook_secrets_shown : partner.webhook_secrets;
  if (!tokens.empty()) {
    client["token"] = tokens;
  }
  if (!secrets.empty()) {
    client["webhook_secrets"] = secrets;
  }
  // The same rates at the HTTP door (source-http answers 429 beyond them). Each door keeps its
  // own buckets: a partner using both may send its quota through each.
  if (partner.quotas.events_per_second > 0) {
    client["events_per_second"] = partner.quotas.events_per_second;
  }
  if (partner.quotas.bytes_per_second > 0) {
    client["bytes_per_second"] = partner.quotas.bytes_per_second;
  }
  return client;
}

}  // namespace

std::optional<uint64_t> parse_byte_size(std::string_view text) {
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) {
    return std::nullopt;
  }
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  static const std::map<std::string_view, uint64_t> kUnits = {
      {"", 1},      {"B", 1},     {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"kB", 1000}, {"KB", 1000}, {"MB", 1000'000},    {"GB", 1000'000'000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end() || number == 0 ||
      number > std::numeric_limits<uint64_t>::max() / it->second) {
    return std::nullopt;
  }
  return number * it->second;
}

void load_partner_sections(YamlReader& reader, const Entry* door, const Entry* partners,
                           Config& config) {
  PartnersLoader loader(reader, config);
  if (door != nullptr) {
    loader.load_door(*door);
  }
  if (partners != nullptr) {
    loader.load_partners(*partners);
  }
}

void apply_partner_clients(YamlReader& reader, Config& config) {
  for (PluginInstanceConfig& plugin : config.plugins) {
    nlohmann::json json = nlohmann::json::parse(plugin.config_json, nullptr, false);
    if (!json.is_object() || !json.contains("clients") || json["clients"] != "partners") {
      continue;
    }
    nlohmann::json clients = nlohmann::json::array();
    nlohmann::json clients_shown = nlohmann::json::array();
    for (const PartnerConfig& partner : config.partners) {
      if (partner.has_http) {
        clients.push_back(http_client(partner, false));
        clients_shown.push_back(http_client(partner, true));
      }
    }
    if (clients.empty()) {
      reader.error_at(plugin.where.line, plugin.where.column,
                      "plugin entry '" + plugin.name +
                          "' takes its clients from the partners (clients: partners), but no "
                          "partner has an 'http' section");
      continue;
    }
    json["clients"] = std::move(clients);
    plugin.config_json = json.dump();
    nlohmann::json shown = nlohmann::json::parse(plugin.config_json_shown, nullptr, false);
    if (shown.is_object()) {
      shown["clients"] = std::move(clients_shown);
      plugin.config_json_shown = shown.dump();
    }
  }
}

}  // namespace config_internal

std::string partners_json_shown(const PartnerDoorConfig& door,
                                const std::vector<PartnerConfig>& partners) {
  nlohmann::json out;
  if (!door.listen.empty()) {
    out["partner_door"] = {{"listen", door.listen},
                           {"secret_key", door.secret_key_shown},
                           {"public_key", door.public_key},
                           {"max_connections", door.max_connections}};
  }
  nlohmann::json list = nlohmann::json::array();
  for (const PartnerConfig& p : partners) {
    nlohmann::json entry = {{"name", p.name},
                            {"publish", {{"types", p.types}, {"source_prefix", p.source_prefix}}},
                            {"quotas",
                             {{"events_per_second", p.quotas.events_per_second},
                              {"bytes_per_second", p.quotas.bytes_per_second},
                              {"max_unacked", p.quotas.max_unacked},
                              {"max_backlog", p.quotas.max_backlog}}}};
    if (!p.curve_public_key.empty()) {
      entry["curve_public_key"] = p.curve_public_key_shown;
    }
    if (p.has_http) {
      entry["http"] = {{"token", p.http_tokens_shown},
                       {"webhook_secrets", p.webhook_secrets_shown}};
    }
    list.push_back(std::move(entry));
  }
  out["partners"] = std::move(list);
  return out.dump();
}

}  // namespace simpang::hub
