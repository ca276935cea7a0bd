// The configuration loader: YAML in, a validated Config or every problem with its position out.
//
// The loader walks the document once, section by section, and never stops at the first problem: a
// wrong value is reported and the walk goes on with the default, so one `simpang check` run shows
// everything. Cross-references (routes naming instances) are checked after all instances are known.
#include "config/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "config/did_you_mean.h"
#include "config/yaml_to_json.h"
#include "simpang/sdk/config_reader.h"
#include "plugin/plugin_library.h"
#include "router/instance_glob.h"
#include "router/route_table.h"

namespace simpang::hub {

std::string Diagnostic::to_string() const {
  // Line 0 means "the file as a whole" (it could not be read): no position to show.
  if (where.line <= 0) {
    return where.file + ": " + message;
  }
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
         message;
}

const PluginInstanceConfig* Config::find_plugin(std::string_view name) const {
  for (const PluginInstanceConfig& plugin : plugins) {
    if (plugin.name == name) {
      return &plugin;
    }
  }
  return nullptr;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  // One grammar for durations, in the hub's YAML and in plugins' own config alike.
  return simpang::sdk::parse_duration(text);
}

namespace {

using config_internal::did_you_mean_suffix;
using config_internal::yaml_to_json;
using config_internal::YamlProblem;

constexpr size_t kMaxInstanceName = 64;
constexpr uint32_t kMaxBatch = 65536;
// One day: longer than any sensible timeout or interval, and small enough that every duration fits
// the ABI's uint32 milliseconds (heartbeat_ms, stop's deadline_ms).
constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24);

const std::vector<std::string> kTopKeys = {"hub", "journal", "plugins", "routes"};
const std::vector<std::string> kJournalKeys = {"kind",         "file",       "sync",
                                               "retention",    "dedup_window", "max_events",
                                               "verify_on_open"};
const std::vector<std::string> kRetryKeys = {"max_attempts", "initial_backoff", "max_backoff",
                                             "deadline"};
const std::vector<std::string> kHubKeys = {"state_dir",   "log_level",     "summary_interval",
                                           "heartbeat",   "drain_timeout", "max_batch",
                                           "queue_limit", "plugin_dirs"};
const std::vector<std::string> kPluginKeys = {"name",         "plugin",        "isolation",
                                              "transport",    "stop_timeout",  "start_timeout",
                                              "restart",      "config"};
const std::vector<std::string> kRestartKeys = {"initial_backoff", "max_backoff", "max_failures",
                                               "window"};
const std::vector<std::string> kRouteKeys = {"name", "from", "match", "to", "retry", "ordering"};
const std::vector<std::string> kMatchKeys = {"type", "subject_prefix", "extensions"};
const std::vector<std::string> kLogLevels = {"trace", "debug",    "info", "warn",
                                             "error", "critical", "off"};

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += separator;
    }
    out += items[i];
  }
  return out;
}

// What a node is, for "found ..." in a message. Long scalars are cut so a message stays one line.
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      break;
  }
  std::string text = node.Scalar();
  constexpr size_t kShown = 40;
  if (text.size() > kShown) {
    text = text.substr(0, kShown) + "...";
  }
  return "'" + text + "'";
}

bool has_wildcard(std::string_view glob) {
  return glob.find_first_of("*?") != std::string_view::npos;
}

bool valid_instance_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxInstanceName) {
    return false;
  }
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

// CloudEvents 1.0: attribute names consist of lower-case ASCII letters and digits only.
bool valid_extension_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

const char* kind_text(uint32_t kind) {
  switch (kind) {
    case SIMPANG_KIND_SOURCE:
      return "a source";
    case SIMPANG_KIND_SINK:
      return "a sink";
    case SIMPANG_KIND_TRANSFORM:
      return "a transform";
    default:
      return "of unknown kind";
  }
}

// "plugin entry 'x'" when the entry has a usable name, else "plugin entry #N". Read before the
// entry's other keys, so that every message about the entry, even one found before its name, can
// say which entry it is.
std::string entry_label(const YAML::Node& map, const std::string& what, size_t index) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "name") {
      if (it->second.IsScalar() && !it->second.Scalar().empty()) {
        return what + " '" + it->second.Scalar() + "'";
      }
      break;
    }
  }
  return what + " #" + std::to_string(index);
}

// A key and its value in a mapping.
struct Entry {
  YAML::Node key;
  YAML::Node value;
};

// What the loader knows about one instance while it checks the routes.
struct InstanceInfo {
  int line = 0;
  std::string plugin;            // as written
  std::optional<uint32_t> kind;  // known only when the library was inspected successfully
};

class Loader {
 public:
  Loader(std::filesystem::path file, const LoadOptions& options)
      : file_(std::move(file)), options_(options) {}

  ConfigResult run();

 private:
  // --- reporting ---------------------------------------------------------------------------------
  void error_at(int line, int column, std::string message) {
    diagnostics_.push_back(
        Diagnostic{SourceLocation{file_.string(), line, column}, std::move(message)});
  }
  void error(const YAML::Mark& mark, std::string message) {
    error_at(mark.is_null() ? 1 : mark.line + 1, mark.is_null() ? 1 : mark.column + 1,
             std::move(message));
  }
  SourceLocation location(const YAML::Mark& mark) const {
    return SourceLocation{file_.string(), mark.line + 1, mark.column + 1};
  }

  // Where a value is. yaml-cpp places an implicit null (`key:` with nothing after it) at the next
  // token, possibly lines later, so a missing value is reported at its key instead.
  YAML::Mark value_mark(const Entry& entry) const {
    return entry.value.IsNull() ? entry.key.Mark() : entry.value.Mark();
  }
  YAML::Mark item_mark(const YAML::Node& item) const;

  // --- reading mappings and values ---------------------------------------------------------------
  // The entries of `map`, each key once. Reports non-scalar keys, keys outside `known` (with a
  // suggestion) and repeated keys; `known` == nullptr accepts any key. `section` names the mapping
  // in messages ("the 'hub' section", "route 'x'").
  std::vector<std::pair<std::string, Entry>> read_map(const YAML::Node& map,
                                                      const std::string& section,
                                                      const std::vector<std::string>* known);
  static const Entry* find(const std::vector<std::pair<std::string, Entry>>& entries,
                           std::string_view key);

  std::optional<std::string> get_string(const Entry& entry, const std::string& what,
                                        bool allow_empty = false);
  std::optional<uint64_t> get_uint(const Entry& entry, const std::string& what, uint64_t min,
                                   uint64_t max);
  std::optional<std::chrono::milliseconds> get_duration(const Entry& entry, const std::string& what,
                                                        bool allow_zero);
  // A string or a list of strings, each with its node (for positions). Reports an empty list.
  std::vector<std::pair<std::string, YAML::Node>> get_string_list(const Entry& entry,
                                                                  const std::string& what,
                                                                  const std::string& items);

  std::filesystem::path resolve(const std::string& path) const {
    std::filesystem::path p(path);
    return (p.is_absolute() ? p : config_dir_ / p).lexically_normal();
  }

  // --- sections ----------------------------------------------------------------------------------
  void load_hub(const Entry* entry);
  void load_plugins(const Entry* entry, const YAML::Node& top);
  void load_plugin(const YAML::Node& item, size_t index);
  void load_routes(const Entry* entry);
  void load_route(const YAML::Node& item, size_t index);
  void load_journal(const Entry* entry);
  void load_restart(const Entry& entry, const std::string& owner, RestartPolicy& restart);
  // True when `library` is in one of LoadOptions::default_plugin_dirs (shipped with the hub).
  bool is_bundled(const std::filesystem::path& library) const;
  void load_retry(const Entry& entry, const std::string& owner, RetryPolicy& retry);
  std::optional<bool> get_bool(const Entry& entry, const std::string& what);
  // Reads a string that must be one of `choices`; reports it otherwise.
  std::optional<std::string> get_choice(const Entry& entry, const std::string& what,
                                        const std::vector<std::string>& choices);
  void load_match(const Entry& entry, const std::string& owner, RouteConfig& route);

  // Finds the library `plugin:` names; reports and returns nullopt when there is none usable.
  std::optional<std::filesystem::path> find_library(const std::string& plugin,
                                                    const YAML::Mark& mark);
  // Opens (once per file) and checks the library; reports and returns nullptr on failure.
  const PluginLibrary* inspect(const std::filesystem::path& library, const YAML::Mark& mark);

  std::filesystem::path file_;
  std::filesystem::path config_dir_;
  const LoadOptions& options_;
  std::string text_;
  std::vector<Diagnostic> diagnostics_;
  Config config_;

  std::vector<std::string> instance_names_;  // in file order, for suggestions and glob checks
  std::unordered_map<std::string, InstanceInfo> instances_;
  std::unordered_map<std::string, int> route_lines_;
  // Keyed by the library's canonical path, so instances sharing a library open it once; a failed
  // open is cached as its message so the dlopen is not retried for every instance.
  std::map<std::filesystem::path, std::shared_ptr<PluginLibrary>> libraries_;
  std::map<std::filesystem::path, std::string> library_errors_;
};

YAML::Mark Loader::item_mark(const YAML::Node& item) const {
  YAML::Mark mark = item.Mark();
  if (!item.IsNull() || mark.is_null() || mark.pos < 0 ||
      static_cast<size_t>(mark.pos) > text_.size()) {
    return mark;
  }
  // An explicit `~` or `null` is where yaml-cpp says it is.
  const std::string_view text(text_);
  const std::string_view at = text.substr(static_cast<size_t>(mark.pos));
  for (std::string_view literal : {"~", "null", "Null", "NULL"}) {
    if (at.starts_with(literal) &&
        (at.size() == literal.size() ||
         !std::isalnum(static_cast<unsigned char>(at[literal.size()])))) {
      return mark;
    }
  }
  // An empty item (`-` with nothing after it) is marked at the next token, possibly lines later.
  // Walk back, line by line, to the last character before that token which is neither blank nor
  // comment: the `-` that began the item.
  size_t end = static_cast<size_t>(mark.pos);  // exclusive end of the text still to look at
  for (int line = mark.line; line >= 0; --line) {
    const size_t newline = end == 0 ? std::string_view::npos : text.rfind('\n', end - 1);
    const size_t start = newline == std::string_view::npos ? 0 : newline + 1;
    std::string_view content = text.substr(start, end - start);
    // A '#' at the start or after a blank begins a comment. Quotes are not considered: an empty
    // item's neighbourhood rarely holds a quoted '#', and the cost is only a less exact position.
    for (size_t i = 0; i < content.size(); ++i) {
      if (content[i] == '#' && (i == 0 || content[i - 1] == ' ' || content[i - 1] == '\t')) {
        content = content.substr(0, i);
        break;
      }
    }
    const size_t last = content.find_last_not_of(" \t\r");
    if (last != std::string_view::npos) {
      YAML::Mark found;
      found.pos = static_cast<int>(start + last);
      found.line = line;
      found.column = static_cast<int>(last);
      return found;
    }
    if (start == 0) {
      break;
    }
    end = start - 1;  // drop the '\n' that ends the previous line
  }
  return mark;
}

std::vector<std::pair<std::string, Entry>> Loader::read_map(const YAML::Node& map,
                                                            const std::string& section,
                                                            const std::vector<std::string>* known) {
  std::vector<std::pair<std::string, Entry>> entries;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // A copy: `it->first` lives in a proxy that dies with the full-expression.
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(key.Mark(), "a key in " + section + " is " + describe(key) + "; keys must be names");
      continue;
    }
    const std::string& name = key.Scalar();
    if (const Entry* first = find(entries, name)) {
      error(key.Mark(), "duplicate key '" + name + "' in " + section + " (first given at line " +
                            std::to_string(first->key.Mark().line + 1) + ")");
      continue;
    }
    if (known != nullptr && std::find(known->begin(), known->end(), name) == known->end()) {
      std::string hint = did_you_mean_suffix(name, *known);
      if (hint.empty()) {
        hint = " (expected one of: " + join(*known) + ")";
      }
      error(key.Mark(), "unknown key '" + name + "' in " + section + hint);
      continue;
    }
    entries.emplace_back(name, Entry{key, it->second});
  }
  return entries;
}

const Entry* Loader::find(const std::vector<std::pair<std::string, Entry>>& entries,
                          std::string_view key) {
  for (const auto& [name, entry] : entries) {
    if (name == key) {
      return &entry;
    }
  }
  return nullptr;
}

std::optional<std::string> Loader::get_string(const Entry& entry, const std::string& what,
                                              bool allow_empty) {
  if (entry.value.IsNull()) {
    error(entry.key.Mark(), what + " needs a value");
    return std::nullopt;
  }
  if (!entry.value.IsScalar()) {
    error(entry.value.Mark(), what + " must be a string; found " + describe(entry.value));
    return std::nullopt;
  }
  if (!allow_empty && entry.value.Scalar().empty()) {
    error(entry.value.Mark(), what + " must not be empty");
    return std::nullopt;
  }
  return entry.value.Scalar();
}

std::optional<uint64_t> Loader::get_uint(const Entry& entry, const std::string& what, uint64_t min,
                                         uint64_t max) {
  const std::string expected =
      what + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!entry.value.IsScalar()) {
    error(value_mark(entry), expected + "; found " + describe(entry.value));
    return std::nullopt;
  }
  std::string_view text = entry.value.Scalar();
  if (text.starts_with('+')) {
    text.remove_prefix(1);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    error(entry.value.Mark(), expected + "; found " + describe(entry.value));
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> Loader::get_duration(const Entry& entry,
                                                              const std::string& what,
                                                              bool allow_zero) {
  const std::string expected =
      what + " must be a duration: an integer and a unit (ms, s, m or h), such as 250ms or 5s";
  if (!entry.value.IsScalar()) {
    error(value_mark(entry), expected + "; found " + describe(entry.value));
    return std::nullopt;
  }
  std::optional<std::chrono::milliseconds> d = parse_duration(entry.value.Scalar());
  if (!d) {
    error(entry.value.Mark(), expected + "; found " + describe(entry.value));
    return std::nullopt;
  }
  if ((!allow_zero && d->count() == 0) || *d > kMaxDuration) {
    error(entry.value.Mark(), what + " must be " + (allow_zero ? "from 0s" : "from 1ms") +
                                  " to 24h; found " + describe(entry.value));
    return std::nullopt;
  }
  return d;
}

std::vector<std::pair<std::string, YAML::Node>> Loader::get_string_list(const Entry& entry,
                                                                        const std::string& what,
                                                                        const std::string& items) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  const std::string expected = what + " must be " + items + " or a list of them";
  if (entry.value.IsNull()) {
    error(entry.key.Mark(), what + " needs a value: " + items + " or a list of them");
    return out;
  }
  if (entry.value.IsMap()) {
    error(entry.value.Mark(), expected + "; found a mapping");
    return out;
  }
  if (entry.value.IsScalar()) {
    if (entry.value.Scalar().empty()) {
      error(entry.value.Mark(), what + " must not be empty");
    } else {
      out.emplace_back(entry.value.Scalar(), entry.value);
    }
    return out;
  }
  if (entry.value.size() == 0) {
    error(entry.value.Mark(), what + " must not be an empty list");
    return out;
  }
  for (const YAML::Node& item : entry.value) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      error(item_mark(item),
            "each item of " + what + " must be " + items + "; found " +
                (item.IsScalar() ? std::string("an empty string") : describe(item)));
      continue;
    }
    out.emplace_back(item.Scalar(), item);
  }
  return out;
}

ConfigResult Loader::run() {
  config_.file = file_;
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(file_, ec);
  config_dir_ = (ec ? file_ : absolute).parent_path().lexically_normal();

  {
    std::ifstream in(file_, std::ios::binary);
    if (!in) {
      const int err = errno;
      error_at(0, 0, "cannot read the configuration file: " + std::string(std::strerror(err)));
      return ConfigResult{std::nullopt, std::move(diagnostics_)};
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text_ = buffer.str();
    if (std::filesystem::is_directory(file_, ec)) {
      error_at(0, 0, "cannot read the configuration file: it is a directory");
      return ConfigResult{std::nullopt, std::move(diagnostics_)};
    }
  }

  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text_);
  } catch (const YAML::Exception& e) {
    error(e.mark, "YAML syntax error: " + e.msg);
    return ConfigResult{std::nullopt, std::move(diagnostics_)};
  } catch (const std::exception& e) {
    error_at(1, 1, std::string("YAML syntax error: ") + e.what());
    return ConfigResult{std::nullopt, std::move(diagnostics_)};
  }

  if (documents.empty() || documents.front().IsNull()) {
    error_at(1, 1, "configuration is empty");
    return ConfigResult{std::nullopt, std::move(diagnostics_)};
  }
  const YAML::Node& top = documents.front();
  if (!top.IsMap()) {
    error_at(1, 1,
             "configuration is empty: expected a mapping with the keys 'hub', 'plugins' and "
             "'routes'; found " +
                 describe(top));
    return ConfigResult{std::nullopt, std::move(diagnostics_)};
  }
  if (documents.size() > 1) {
    error(documents[1].Mark(),
          "a configuration file holds one YAML document; this is a second one (remove the '---')");
  }

  auto entries = read_map(top, "the top level of the configuration", &kTopKeys);
  // The hub section first wherever it is written: plugin lookup needs hub.plugin_dirs.
  load_hub(find(entries, "hub"));
  load_journal(find(entries, "journal"));
  load_plugins(find(entries, "plugins"), top);
  load_routes(find(entries, "routes"));

  std::stable_sort(
      diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
      });
  ConfigResult result;
  if (diagnostics_.empty()) {
    result.config = std::move(config_);
  }
  result.diagnostics = std::move(diagnostics_);
  return result;
}

void Loader::load_hub(const Entry* entry) {
  HubSettings& hub = config_.hub;
  hub.state_dir = config_dir_ / "state";
  if (entry == nullptr || entry->value.IsNull()) {
    return;
  }
  if (!entry->value.IsMap()) {
    error(entry->value.Mark(),
          "'hub' must be a mapping of hub settings; found " + describe(entry->value));
    return;
  }
  auto entries = read_map(entry->value, "the 'hub' section", &kHubKeys);

  if (const Entry* e = find(entries, "state_dir")) {
    if (auto s = get_string(*e, "hub.state_dir")) {
      hub.state_dir = resolve(*s);
    }
  }
  if (const Entry* e = find(entries, "log_level")) {
    if (auto s = get_string(*e, "hub.log_level")) {
      if (std::find(kLogLevels.begin(), kLogLevels.end(), *s) == kLogLevels.end()) {
        error(e->value.Mark(), "hub.log_level must be one of " + join(kLogLevels) + "; found '" +
                                   *s + "'" + did_you_mean_suffix(*s, kLogLevels));
      } else {
        hub.log_level = *s;
      }
    }
  }
  struct DurationKey {
    const char* key;
    std::chrono::milliseconds* target;
    bool allow_zero;
  };
  for (const DurationKey& d : {DurationKey{"summary_interval", &hub.summary_interval, true},
                               DurationKey{"heartbeat", &hub.heartbeat, false},
                               DurationKey{"drain_timeout", &hub.drain_timeout, true}}) {
    if (const Entry* e = find(entries, d.key)) {
      if (auto v = get_duration(*e, std::string("hub.") + d.key, d.allow_zero)) {
        *d.target = *v;
      }
    }
  }
  if (const Entry* e = find(entries, "max_batch")) {
    if (auto v = get_uint(*e, "hub.max_batch", 1, kMaxBatch)) {
      hub.max_batch = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = find(entries, "queue_limit")) {
    if (auto v = get_uint(*e, "hub.queue_limit", 1, std::numeric_limits<uint32_t>::max())) {
      hub.queue_limit = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = find(entries, "plugin_dirs")) {
    if (!e->value.IsNull()) {
      for (const auto& [dir, node] : get_string_list(*e, "hub.plugin_dirs", "a directory")) {
        hub.plugin_dirs.push_back(resolve(dir));
      }
    }
  }
}

std::optional<bool> Loader::get_bool(const Entry& entry, const std::string& what) {
  if (entry.value.IsScalar()) {
    const std::string& text = entry.value.Scalar();
    if (text == "true" || text == "yes" || text == "on") {
      return true;
    }
    if (text == "false" || text == "no" || text == "off") {
      return false;
    }
  }
  error(entry.value.Mark(), what + " must be true or false; found " + describe(entry.value));
  return std::nullopt;
}

std::optional<std::string> Loader::get_choice(const Entry& entry, const std::string& what,
                                              const std::vector<std::string>& choices) {
  auto s = get_string(entry, what);
  if (!s) {
    return std::nullopt;
  }
  if (std::find(choices.begin(), choices.end(), *s) == choices.end()) {
    error(entry.value.Mark(), what + " must be one of " + join(choices) + "; found '" + *s + "'" +
                                  did_you_mean_suffix(*s, choices));
    return std::nullopt;
  }
  return s;
}

void Loader::load_journal(const Entry* entry) {
  JournalSettings& journal = config_.journal;
  journal.file = config_.hub.state_dir / "journal.db";
  if (entry == nullptr || entry->value.IsNull()) {
    return;
  }
  if (!entry->value.IsMap()) {
    error(entry->value.Mark(),
          "'journal' must be a mapping of journal settings; found " + describe(entry->value));
    return;
  }
  auto entries = read_map(entry->value, "the 'journal' section", &kJournalKeys);
  if (const Entry* e = find(entries, "kind")) {
    if (auto kind = get_choice(*e, "journal.kind", {"sqlite", "memory"})) {
      journal.kind = *kind == "memory" ? JournalKind::kMemory : JournalKind::kSqlite;
    }
  }
  if (const Entry* e = find(entries, "file")) {
    if (auto s = get_string(*e, "journal.file")) {
      journal.file = resolve(*s);
    }
  }
  if (const Entry* e = find(entries, "sync")) {
    if (auto sync = get_choice(*e, "journal.sync", {"normal", "full"})) {
      journal.sync_full = *sync == "full";
    }
  }
  if (const Entry* e = find(entries, "retention")) {
    if (auto d = get_duration(*e, "journal.retention", false)) {
      journal.retention = *d;
    }
  }
  if (const Entry* e = find(entries, "dedup_window")) {
    if (auto d = get_duration(*e, "journal.dedup_window", true)) {
      journal.dedup_window = *d;
    }
  }
  if (journal.dedup_window > journal.retention) {
    error(entry->value.Mark(), "journal.dedup_window (" +
                                   std::to_string(journal.dedup_window.count()) +
                                   " ms) cannot exceed journal.retention (" +
                                   std::to_string(journal.retention.count()) +
                                   " ms): de-duplication looks events up in the journal");
  }
  if (const Entry* e = find(entries, "max_events")) {
    if (auto v = get_uint(*e, "journal.max_events", 1000, std::numeric_limits<int64_t>::max())) {
      journal.max_events = *v;
    }
  }
  if (const Entry* e = find(entries, "verify_on_open")) {
    if (auto b = get_bool(*e, "journal.verify_on_open")) {
      journal.verify_on_open = *b;
    }
  }
}

bool Loader::is_bundled(const std::filesystem::path& library) const {
  for (const auto& dir : options_.default_plugin_dirs) {
    std::error_code ec;
    if (std::filesystem::equivalent(library.parent_path(), dir, ec)) {
      return true;
    }
  }
  return false;
}

void Loader::load_restart(const Entry& entry, const std::string& owner, RestartPolicy& restart) {
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsMap()) {
    error(entry.value.Mark(), "'restart' of " + owner +
                                  " must be a mapping (initial_backoff, max_backoff, "
                                  "max_failures, window); found " +
                                  describe(entry.value));
    return;
  }
  auto entries = read_map(entry.value, "'restart' of " + owner, &kRestartKeys);
  if (const Entry* e = find(entries, "initial_backoff")) {
    if (auto d = get_duration(*e, "'restart.initial_backoff' of " + owner, true)) {
      restart.initial_backoff = *d;
    }
  }
  if (const Entry* e = find(entries, "max_backoff")) {
    if (auto d = get_duration(*e, "'restart.max_backoff' of " + owner, true)) {
      restart.max_backoff = *d;
    }
  }
  if (const Entry* e = find(entries, "max_failures")) {
    if (auto v = get_uint(*e, "'restart.max_failures' of " + owner, 1, 1000000)) {
      restart.max_failures = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = find(entries, "window")) {
    if (auto d = get_duration(*e, "'restart.window' of " + owner, false)) {
      restart.window = *d;
    }
  }
}

void Loader::load_retry(const Entry& entry, const std::string& owner, RetryPolicy& retry) {
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsMap()) {
    error(entry.value.Mark(), "'retry' of " + owner +
                                  " must be a mapping (max_attempts, initial_backoff, "
                                  "max_backoff, deadline); found " +
                                  describe(entry.value));
    return;
  }
  auto entries = read_map(entry.value, "'retry' of " + owner, &kRetryKeys);
  if (const Entry* e = find(entries, "max_attempts")) {
    if (auto v = get_uint(*e, "'retry.max_attempts' of " + owner, 1, 1000000)) {
      retry.max_attempts = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = find(entries, "initial_backoff")) {
    if (auto d = get_duration(*e, "'retry.initial_backoff' of " + owner, true)) {
      retry.initial_backoff = *d;
    }
  }
  if (const Entry* e = find(entries, "max_backoff")) {
    if (auto d = get_duration(*e, "'retry.max_backoff' of " + owner, true)) {
      retry.max_backoff = *d;
    }
  }
  if (const Entry* e = find(entries, "deadline")) {
    if (auto d = get_duration(*e, "'retry.deadline' of " + owner, true)) {
      retry.deadline = *d;
    }
  }
  if (retry.max_backoff < retry.initial_backoff) {
    error(entry.value.Mark(), "'retry' of " + owner +
                                  ": max_backoff cannot be shorter than initial_backoff");
  }
}

void Loader::load_plugins(const Entry* entry, const YAML::Node& top) {
  if (entry == nullptr) {
    error(top.Mark(), "missing required key 'plugins' (the list of plugin instances to run)");
    return;
  }
  const YAML::Node& list = entry->value;
  if (list.IsNull() || (list.IsSequence() && list.size() == 0)) {
    error(value_mark(*entry), "'plugins' must list at least one plugin instance");
    return;
  }
  if (!list.IsSequence()) {
    error(list.Mark(),
          "'plugins' must be a list of plugin entries (each starting with '- name:'); found " +
              describe(list));
    return;
  }
  size_t index = 0;
  for (const YAML::Node& item : list) {
    load_plugin(item, ++index);
  }
}

void Loader::load_plugin(const YAML::Node& item, size_t index) {
  std::string owner = "plugin entry #" + std::to_string(index);
  if (!item.IsMap()) {
    error(item_mark(item),
          owner + " must be a mapping with at least 'name' and 'plugin'; found " + describe(item));
    return;
  }

  PluginInstanceConfig plugin;
  plugin.where = location(item.Mark());

  owner = entry_label(item, "plugin entry", index);
  auto entries = read_map(item, owner, &kPluginKeys);
  const Entry* name_entry = find(entries, "name");

  if (name_entry == nullptr) {
    error(item.Mark(), owner + " is missing required key 'name'");
  } else if (auto name = get_string(*name_entry, "'name' of " + owner)) {
    plugin.name = *name;
    if (!valid_instance_name(*name)) {
      error(name_entry->value.Mark(), "instance name '" + *name +
                                          "' is invalid: use lower-case letters, digits, '_' and "
                                          "'-', starting with a letter or digit, at most " +
                                          std::to_string(kMaxInstanceName) + " characters");
    }
  }

  const bool named = !plugin.name.empty();
  bool duplicate = false;
  if (named) {
    auto [it, inserted] = instances_.emplace(plugin.name, InstanceInfo{plugin.where.line, {}, {}});
    if (!inserted) {
      duplicate = true;
      error(name_entry->value.Mark(), "duplicate instance name '" + plugin.name +
                                          "' (first defined at line " +
                                          std::to_string(it->second.line) + ")");
    } else {
      instance_names_.push_back(plugin.name);
    }
  }

  if (const Entry* e = find(entries, "plugin"); e == nullptr) {
    error(item.Mark(), owner + " is missing required key 'plugin'");
  } else if (auto text = get_string(*e, "'plugin' of " + owner)) {
    plugin.plugin = *text;
    if (auto library = find_library(*text, e->value.Mark())) {
      plugin.library = *library;
      // The hub's own plugins run on threads; anyone else's in a process of its own, so that
      // its bugs cannot take the hub down. `isolation:` overrides either.
      plugin.isolation = is_bundled(*library) ? Isolation::kThread : Isolation::kProcess;
      if (options_.inspect_plugins) {
        if (const PluginLibrary* lib = inspect(*library, e->value.Mark())) {
          plugin.plugin_name = lib->api().name;
          plugin.plugin_kind = lib->api().kind;
        }
      }
    }
  }
  if (named && !duplicate) {
    InstanceInfo& info = instances_[plugin.name];
    info.plugin = plugin.plugin;
    if (plugin.plugin_kind != 0) {
      info.kind = plugin.plugin_kind;
    }
  }

  if (const Entry* e = find(entries, "isolation")) {
    if (auto s = get_string(*e, "'isolation' of " + owner)) {
      if (*s == "thread") {
        plugin.isolation = Isolation::kThread;
      } else if (*s == "process") {
        plugin.isolation = Isolation::kProcess;
      } else {
        error(e->value.Mark(), "'isolation' of " + owner +
                                   " must be 'thread' or 'process'; found '" + *s + "'" +
                                   did_you_mean_suffix(*s, {"thread", "process"}));
      }
    }
  }
  bool inproc_written = false;
  if (const Entry* e = find(entries, "transport")) {
    if (auto s = get_string(*e, "'transport' of " + owner)) {
      if (*s == "inproc") {
        plugin.transport = PluginTransport::kInproc;
        inproc_written = true;
      } else if (*s == "ipc") {
        plugin.transport = PluginTransport::kIpc;
      } else {
        error(e->value.Mark(), "'transport' of " + owner + " must be 'inproc' or 'ipc'; found '" +
                                   *s + "'" + did_you_mean_suffix(*s, {"inproc", "ipc"}));
      }
    }
  }
  if (const Entry* e = find(entries, "stop_timeout")) {
    if (auto d = get_duration(*e, "'stop_timeout' of " + owner, false)) {
      plugin.stop_timeout = *d;
    }
  }
  if (const Entry* e = find(entries, "start_timeout")) {
    if (auto d = get_duration(*e, "'start_timeout' of " + owner, false)) {
      plugin.start_timeout = *d;
    }
  }
  if (const Entry* e = find(entries, "restart")) {
    load_restart(*e, owner, plugin.restart);
  }
  if (plugin.isolation == Isolation::kProcess) {
    if (const Entry* transport = find(entries, "transport"); inproc_written) {
      error(transport->value.Mark(), owner +
                                         " runs in its own process (isolation: process), which "
                                         "cannot reach inproc://; use transport: ipc");
    }
    plugin.transport = PluginTransport::kIpc;
  }
  if (const Entry* e = find(entries, "config")) {
    if (e->value.IsMap()) {
      std::vector<YamlProblem> problems;
      nlohmann::json json = yaml_to_json(e->value, problems);
      for (const YamlProblem& p : problems) {
        error(p.mark, "in 'config' of " + owner + ": " + p.message);
      }
      plugin.config_json = json.dump();
    } else if (!e->value.IsNull()) {
      error(e->value.Mark(),
            "'config' of " + owner + " must be a mapping; found " + describe(e->value));
    }
  }

  config_.plugins.push_back(std::move(plugin));
}

std::optional<std::filesystem::path> Loader::find_library(const std::string& plugin,
                                                          const YAML::Mark& mark) {
  // Returns the problem with a readable regular file, or "" when there is none.
  auto unusable = [](const std::filesystem::path& p) -> std::string {
    std::error_code ec;
    std::filesystem::file_status status = std::filesystem::status(p, ec);
    if (!std::filesystem::exists(status)) {
      return "does not exist";
    }
    if (std::filesystem::is_directory(status)) {
      return "is a directory, not a plugin library";
    }
    if (access(p.c_str(), R_OK) != 0) {
      return std::string("is not readable: ") + std::strerror(errno);
    }
    return "";
  };

  const bool is_path = plugin.find('/') != std::string::npos || plugin.ends_with(".so");
  if (is_path) {
    std::filesystem::path path = resolve(plugin);
    if (std::string problem = unusable(path); !problem.empty()) {
      std::string message = "plugin library " + path.string() + " " + problem;
      if (problem == "does not exist" && std::filesystem::path(plugin).is_relative()) {
        message += " (a relative path is resolved against the configuration file's directory)";
      }
      error(mark, message);
      return std::nullopt;
    }
    return path;
  }

  std::vector<std::filesystem::path> dirs = config_.hub.plugin_dirs;
  dirs.insert(dirs.end(), options_.default_plugin_dirs.begin(), options_.default_plugin_dirs.end());
  if (dirs.empty()) {
    error(mark, "plugin '" + plugin +
                    "' not found: there is no plugin directory to search; set hub.plugin_dirs or "
                    "give the path to the .so");
    return std::nullopt;
  }
  const std::string file_name = plugin + ".so";
  std::vector<std::string> searched;
  for (const std::filesystem::path& dir : dirs) {
    // LoadOptions' directories may be relative to the working directory; Config promises absolute.
    std::error_code absolute_error;
    std::filesystem::path base = std::filesystem::absolute(dir, absolute_error);
    std::filesystem::path candidate =
        ((absolute_error ? dir : base) / file_name).lexically_normal();
    std::string problem = unusable(candidate);
    if (problem.empty()) {
      return candidate;
    }
    if (problem != "does not exist") {
      // Present but unusable: say so rather than keep searching and report "not found".
      error(mark, "plugin library " + candidate.string() + " " + problem);
      return std::nullopt;
    }
    std::error_code ec;
    const std::filesystem::path shown = absolute_error ? dir : base.lexically_normal();
    searched.push_back(shown.string() +
                       (std::filesystem::is_directory(dir, ec) ? "" : " (no such directory)"));
  }
  error(mark,
        "plugin '" + plugin + "' not found: looked for " + file_name + " in " + join(searched));
  return std::nullopt;
}

const PluginLibrary* Loader::inspect(const std::filesystem::path& library, const YAML::Mark& mark) {
  std::error_code ec;
  std::filesystem::path key = std::filesystem::weakly_canonical(library, ec);
  if (ec) {
    key = library;
  }
  if (auto it = libraries_.find(key); it != libraries_.end()) {
    return it->second.get();
  }
  if (auto it = library_errors_.find(key); it != library_errors_.end()) {
    error(mark, it->second);
    return nullptr;
  }
  StatusOr<std::shared_ptr<PluginLibrary>> opened = PluginLibrary::open(library);
  if (!opened.ok()) {
    library_errors_.emplace(key, opened.status().message());
    error(mark, opened.status().message());
    return nullptr;
  }
  return libraries_.emplace(key, std::move(*opened)).first->second.get();
}

void Loader::load_routes(const Entry* entry) {
  if (entry == nullptr || entry->value.IsNull()) {
    return;  // a hub without routes only counts what arrives as unrouted
  }
  if (!entry->value.IsSequence()) {
    error(entry->value.Mark(),
          "'routes' must be a list of routes (each starting with '- name:'); found " +
              describe(entry->value));
    return;
  }
  size_t index = 0;
  for (const YAML::Node& item : entry->value) {
    load_route(item, ++index);
  }
}

void Loader::load_route(const YAML::Node& item, size_t index) {
  std::string owner = "route #" + std::to_string(index);
  if (!item.IsMap()) {
    error(item_mark(item), owner +
                               " must be a mapping with at least 'name', 'from' and 'to'; found " +
                               describe(item));
    return;
  }
  RouteConfig route;
  route.where = location(item.Mark());

  owner = entry_label(item, "route", index);
  auto entries = read_map(item, owner, &kRouteKeys);

  if (const Entry* e = find(entries, "name"); e == nullptr) {
    error(item.Mark(), owner + " is missing required key 'name'");
  } else if (auto name = get_string(*e, "'name' of " + owner)) {
    route.name = *name;
    auto [it, inserted] = route_lines_.emplace(*name, route.where.line);
    if (!inserted) {
      error(e->value.Mark(), "duplicate route name '" + *name + "' (first defined at line " +
                                 std::to_string(it->second) + ")");
    }
  }

  if (const Entry* e = find(entries, "from"); e == nullptr) {
    error(item.Mark(), owner + " is missing required key 'from'");
  } else {
    // Not a structured binding: clang before 16 cannot capture one in the lambda below.
    for (auto& item_and_node : get_string_list(*e, "'from' of " + owner, "an instance name")) {
      std::string& glob = item_and_node.first;
      const YAML::Node& node = item_and_node.second;
      Status valid = validate_instance_glob(glob);
      if (!valid.ok()) {
        error(node.Mark(),
              "'from' of " + owner + " has an invalid pattern '" + glob + "': " + valid.message());
      } else if (has_wildcard(glob)) {
        const bool any =
            std::any_of(instance_names_.begin(), instance_names_.end(),
                        [&](const std::string& n) { return instance_glob_matches(glob, n); });
        if (!any) {
          error(node.Mark(),
                "'from' pattern '" + glob + "' of " + owner +
                    " matches no configured instance (instances: " + join(instance_names_) + ")");
        }
      } else if (auto it = instances_.find(glob); it == instances_.end()) {
        error(node.Mark(), owner + " takes events from '" + glob +
                               "', which is not a configured instance" +
                               did_you_mean_suffix(glob, instance_names_));
      } else if (it->second.kind == SIMPANG_KIND_SINK) {
        error(node.Mark(), owner + " takes events from '" + glob + "', but its plugin '" +
                               it->second.plugin + "' is a sink and publishes nothing");
      }
      route.from.push_back(std::move(glob));
    }
  }

  route.types = {"**"};
  if (const Entry* e = find(entries, "match")) {
    load_match(*e, owner, route);
  }

  if (const Entry* e = find(entries, "to"); e == nullptr) {
    error(item.Mark(), owner + " is missing required key 'to'");
  } else {
    std::set<std::string> seen;
    for (auto& [name, node] : get_string_list(*e, "'to' of " + owner, "an instance name")) {
      if (!seen.insert(name).second) {
        error(node.Mark(), owner + " lists '" + name + "' in 'to' more than once");
        continue;
      }
      auto it = instances_.find(name);
      if (it == instances_.end()) {
        std::string message =
            owner + " sends events to '" + name + "', which is not a configured instance";
        if (has_wildcard(name)) {
          message += " ('to' takes instance names, not patterns)";
        } else {
          message += did_you_mean_suffix(name, instance_names_);
        }
        error(node.Mark(), message);
      } else if (it->second.kind == SIMPANG_KIND_SOURCE) {
        error(node.Mark(), owner + " sends events to '" + name + "', but its plugin '" +
                               it->second.plugin + "' is " + kind_text(*it->second.kind) +
                               " and cannot receive events");
      }
      route.to.push_back(std::move(name));
    }
  }

  if (const Entry* e = find(entries, "retry")) {
    load_retry(*e, owner, route.retry);
  }
  if (const Entry* e = find(entries, "ordering")) {
    if (auto ordering = get_choice(*e, "'ordering' of " + owner, {"none", "subject"})) {
      route.ordering = *ordering == "subject" ? Ordering::kSubject : Ordering::kNone;
    }
  }

  config_.routes.push_back(std::move(route));
}

void Loader::load_match(const Entry& entry, const std::string& owner, RouteConfig& route) {
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsMap()) {
    error(entry.value.Mark(), "'match' of " + owner +
                                  " must be a mapping (type, subject_prefix, extensions); found " +
                                  describe(entry.value));
    return;
  }
  const std::string section = "'match' of " + owner;
  auto entries = read_map(entry.value, section, &kMatchKeys);

  if (const Entry* e = find(entries, "type")) {
    route.types.clear();
    for (auto& [pattern, node] :
         get_string_list(*e, "'match.type' of " + owner, "an event type pattern")) {
      Status valid = validate_type_pattern(pattern);
      if (!valid.ok()) {
        error(node.Mark(), "'match.type' of " + owner + " has an invalid pattern '" + pattern +
                               "': " + valid.message());
      }
      route.types.push_back(std::move(pattern));
    }
    if (route.types.empty()) {
      route.types = {"**"};  // already reported; keeps the route well-formed for later checks
    }
  }
  if (const Entry* e = find(entries, "subject_prefix")) {
    if (auto s = get_string(*e, "'match.subject_prefix' of " + owner, /*allow_empty=*/true)) {
      route.subject_prefix = *s;
    }
  }
  if (const Entry* e = find(entries, "extensions")) {
    if (e->value.IsNull()) {
      return;
    }
    if (!e->value.IsMap()) {
      error(e->value.Mark(), "'match.extensions' of " + owner +
                                 " must be a mapping of extension attribute to value; found " +
                                 describe(e->value));
      return;
    }
    const std::string what = "'match.extensions' of " + owner;
    for (const auto& [name, ext] : read_map(e->value, what, nullptr)) {
      if (!valid_extension_name(name)) {
        error(ext.key.Mark(), "extension attribute name '" + name + "' in " + what +
                                  " is invalid: CloudEvents attribute names use only lower-case "
                                  "letters a-z and digits 0-9");
        continue;
      }
      if (auto value = get_string(ext, "extension '" + name + "' in " + what,
                                  /*allow_empty=*/true)) {
        route.extensions[name] = *value;
      }
    }
  }
}

}  // namespace

ConfigResult load_config(const std::filesystem::path& file, const LoadOptions& options) {
  try {
    return Loader(file, options).run();
  } catch (const std::exception& e) {
    // A bug of ours, or an allocation failure: still a diagnostic, never an exception, because
    // `simpang check` and a SIGHUP reload must be able to report and carry on.
    ConfigResult result;
    result.diagnostics.push_back(Diagnostic{SourceLocation{file.string(), 0, 0},
                                            std::string("internal error while loading the "
                                                        "configuration: ") +
                                                e.what()});
    return result;
  }
}

}  // namespace simpang::hub
