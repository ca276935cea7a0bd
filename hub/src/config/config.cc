// The configuration's schema: which sections and keys exist, what each means, its default and
// its limits, and how the sections refer to each other (routes name instances). YAML in, a
// validated Config or every problem with its position out. This file holds the walk and the hub,
// journal and plugin sections; config_routes.cc the routes; config_loader.h what both share.
//
// The loader walks the document once, section by section, and never stops at the first problem: a
// wrong value is reported and the walk goes on with the default, so one `simpang check` run shows
// everything. Cross-references (routes naming instances) are checked after all instances are known.
// Reading values (and the wording of a wrong value) is the YAML reader's (yaml_reader.h); finding
// and opening plugin libraries is the plugin search's (plugin_search.h).
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <utility>

#include "config/admin_section.h"
#include "config/config_loader.h"
#include "config/did_you_mean.h"
#include "config/partners_section.h"
#include "config/plugin_search.h"
#include "config/yaml_reader.h"
#include "config/yaml_to_json.h"
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

uint32_t effective_max_frame_bytes(const HubSettings& hub) {
  if (hub.max_frame_bytes != 0) {
    return hub.max_frame_bytes;
  }
  const uint64_t full_batch = uint64_t{hub.max_batch} * hub.max_event_bytes + kFrameOverheadBytes;
  const uint64_t one_event = uint64_t{hub.max_event_bytes} + kFrameOverheadBytes;
  return static_cast<uint32_t>(
      std::max(one_event, std::min<uint64_t>(full_batch, kDefaultMaxFrameBytes)));
}

const PluginInstanceConfig* Config::find_plugin(std::string_view name) const {
  for (const PluginInstanceConfig& plugin : plugins) {
    if (plugin.name == name) {
      return &plugin;
    }
  }
  return nullptr;
}

namespace config_internal {

ConfigResult Loader::run() {
  config_.file = reader_.file();
  std::optional<std::vector<YAML::Node>> documents = reader_.read();
  if (!documents) {
    return ConfigResult{std::nullopt, reader_.take_diagnostics()};
  }
  const YAML::Node& top = documents->front();
  if (!top.IsMap()) {
    reader_.error_at(1, 1,
                     "configuration is empty: expected a mapping with the keys 'hub', 'plugins' "
                     "and 'routes'; found " +
                         describe(top));
    return ConfigResult{std::nullopt, reader_.take_diagnostics()};
  }
  if (documents->size() > 1) {
    reader_.error(
        (*documents)[1].Mark(),
        "a configuration file holds one YAML document; this is a second one (remove the '---')");
  }

  auto entries = reader_.read_map(top, "the top level of the configuration", &kTopKeys);
  // The hub section first wherever it is written: plugin lookup needs hub.plugin_dirs.
  load_hub(YamlReader::find(entries, "hub"));
  load_journal(YamlReader::find(entries, "journal"));
  load_plugins(YamlReader::find(entries, "plugins"), top);
  // Partners after the instances (their names must differ) and before the routes (which may
  // take events from a partner, as from a source).
  config_internal::load_partner_sections(reader_, YamlReader::find(entries, "partner_door"),
                                         YamlReader::find(entries, "partners"), config_);
  for (const PartnerConfig& partner : config_.partners) {
    if (!partner.name.empty() && instances_.count(partner.name) == 0) {
      instances_.emplace(partner.name,
                         InstanceInfo{partner.where.line, {}, SIMPANG_KIND_SOURCE, true});
      instance_names_.push_back(partner.name);
    }
  }
  load_routes(YamlReader::find(entries, "routes"));
  config_internal::apply_partner_clients(reader_, config_);
  config_internal::load_admin_section(reader_, YamlReader::find(entries, "admin"), config_);

  ConfigResult result;
  result.diagnostics = reader_.take_diagnostics();
  if (result.diagnostics.empty()) {
    result.config = std::move(config_);
  }
  return result;
}

void Loader::load_hub(const Entry* entry) {
  HubSettings& hub = config_.hub;
  hub.state_dir = reader_.dir() / "state";
  if (entry == nullptr || entry->value.IsNull()) {
    return;
  }
  if (!entry->value.IsMap()) {
    reader_.error(entry->value.Mark(),
                  "'hub' must be a mapping of hub settings; found " + describe(entry->value));
    return;
  }
  auto entries = reader_.read_map(entry->value, "the 'hub' section", &kHubKeys);

  if (const Entry* e = YamlReader::find(entries, "state_dir")) {
    if (auto s = reader_.get_string(*e, "hub.state_dir")) {
      hub.state_dir = resolve(*s);
    }
  }
  if (const Entry* e = YamlReader::find(entries, "log_level")) {
    if (auto s = reader_.get_string(*e, "hub.log_level")) {
      if (std::find(kLogLevels.begin(), kLogLevels.end(), *s) == kLogLevels.end()) {
        reader_.error(e->value.Mark(), "hub.log_level must be one of " + join(kLogLevels) +
                                           "; found '" + *s + "'" +
                                           did_you_mean_suffix(*s, kLogLevels));
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
    if (const Entry* e = YamlReader::find(entries, d.key)) {
      if (auto v = reader_.get_duration(*e, std::string("hub.") + d.key, d.allow_zero)) {
        *d.target = *v;
      }
    }
  }
  if (const Entry* e = YamlReader::find(entries, "max_batch")) {
    if (auto v = reader_.get_uint(*e, "hub.max_batch", 1, kMaxBatch)) {
      hub.max_batch = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = YamlReader::find(entries, "queue_limit")) {
    if (auto v = reader_.get_uint(*e, "hub.queue_limit", 1, std::numeric_limits<uint32_t>::max())) {
      hub.queue_limit = static_cast<uint32_t>(*v);
    }
  }
  struct LimitKey {
    const char* key;
    uint32_t* target;
    uint64_t min;
    uint64_t max;
  };
  for (const LimitKey& l :
       {LimitKey{"max_unacked", &hub.max_unacked, 1, kMaxUnacked},
        LimitKey{"max_event_bytes", &hub.max_event_bytes, kMinEventBytes, kMaxEventBytes},
        LimitKey{"max_attributes", &hub.max_attributes, 1, kMaxAttributes},
        LimitKey{"max_attribute_bytes", &hub.max_attribute_bytes, kMinAttributeBytes,
                 kMaxEventBytes},
        LimitKey{"max_json_depth", &hub.max_json_depth, 1, kMaxJsonDepth}}) {
    if (const Entry* e = YamlReader::find(entries, l.key)) {
      if (auto v = reader_.get_uint(*e, std::string("hub.") + l.key, l.min, l.max)) {
        *l.target = static_cast<uint32_t>(*v);
      }
    }
  }
  // Read after max_event_bytes: a frame must hold at least one full-size event.
  if (const Entry* e = YamlReader::find(entries, "max_frame_bytes")) {
    const uint64_t least = uint64_t{hub.max_event_bytes} + kFrameOverheadBytes;
    if (auto v = reader_.get_uint(*e, "hub.max_frame_bytes", least, kMaxFrameBytes)) {
      hub.max_frame_bytes = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = YamlReader::find(entries, "plugin_dirs")) {
    if (!e->value.IsNull()) {
      for (const auto& [dir, node] :
           reader_.get_string_list(*e, "hub.plugin_dirs", "a directory")) {
        hub.plugin_dirs.push_back(resolve(dir));
      }
    }
  }
}

void Loader::load_journal(const Entry* entry) {
  JournalOptions& journal = config_.journal;
  journal.file = config_.hub.state_dir / "journal.db";
  if (entry == nullptr || entry->value.IsNull()) {
    return;
  }
  if (!entry->value.IsMap()) {
    reader_.error(entry->value.Mark(), "'journal' must be a mapping of journal settings; found " +
                                           describe(entry->value));
    return;
  }
  auto entries = reader_.read_map(entry->value, "the 'journal' section", &kJournalKeys);
  if (const Entry* e = YamlReader::find(entries, "kind")) {
    if (auto kind = reader_.get_choice(*e, "journal.kind", {"sqlite", "memory"})) {
      journal.backend = *kind == "memory" ? JournalBackend::kMemory : JournalBackend::kSqlite;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "file")) {
    if (auto s = reader_.get_string(*e, "journal.file")) {
      journal.file = resolve(*s);
    }
  }
  if (const Entry* e = YamlReader::find(entries, "sync")) {
    if (auto sync = reader_.get_choice(*e, "journal.sync", {"normal", "full"})) {
      journal.sync = *sync == "full" ? JournalSync::kFull : JournalSync::kNormal;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "retention")) {
    if (auto d = reader_.get_duration(*e, "journal.retention", false)) {
      journal.retention = *d;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "dedup_window")) {
    if (auto d = reader_.get_duration(*e, "journal.dedup_window", true)) {
      journal.dedup_window = *d;
    }
  }
  if (journal.dedup_window > journal.retention) {
    reader_.error(entry->value.Mark(), "journal.dedup_window (" +
                                           std::to_string(journal.dedup_window.count()) +
                                           " ms) cannot exceed journal.retention (" +
                                           std::to_string(journal.retention.count()) +
                                           " ms): de-duplication looks events up in the journal");
  }
  if (const Entry* e = YamlReader::find(entries, "max_events")) {
    if (auto v =
            reader_.get_uint(*e, "journal.max_events", 1000, std::numeric_limits<int64_t>::max())) {
      journal.max_events = *v;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "verify_on_open")) {
    if (auto b = reader_.get_bool(*e, "journal.verify_on_open")) {
      journal.verify_on_open = *b;
    }
  }
}

void Loader::load_restart(const Entry& entry, const std::string& owner, RestartPolicy& restart) {
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsMap()) {
    reader_.error(entry.value.Mark(), "'restart' of " + owner +
                                          " must be a mapping (initial_backoff, max_backoff, "
                                          "max_failures, window); found " +
                                          describe(entry.value));
    return;
  }
  auto entries = reader_.read_map(entry.value, "'restart' of " + owner, &kRestartKeys);
  if (const Entry* e = YamlReader::find(entries, "initial_backoff")) {
    if (auto d = reader_.get_duration(*e, "'restart.initial_backoff' of " + owner, true)) {
      restart.initial_backoff = *d;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "max_backoff")) {
    if (auto d = reader_.get_duration(*e, "'restart.max_backoff' of " + owner, true)) {
      restart.max_backoff = *d;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "max_failures")) {
    if (auto v = reader_.get_uint(*e, "'restart.max_failures' of " + owner, 1, 1000000)) {
      restart.max_failures = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = YamlReader::find(entries, "window")) {
    if (auto d = reader_.get_duration(*e, "'restart.window' of " + owner, false)) {
      restart.window = *d;
    }
  }
}

void Loader::load_plugins(const Entry* entry, const YAML::Node& top) {
  if (entry == nullptr) {
    reader_.error(top.Mark(),
                  "missing required key 'plugins' (the list of plugin instances to run)");
    return;
  }
  const YAML::Node& list = entry->value;
  if (list.IsNull() || (list.IsSequence() && list.size() == 0)) {
    reader_.error(YamlReader::value_mark(*entry),
                  "'plugins' must list at least one plugin instance");
    return;
  }
  if (!list.IsSequence()) {
    reader_.error(
        list.Mark(),
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
    reader_.error(
        reader_.item_mark(item),
        owner + " must be a mapping with at least 'name' and 'plugin'; found " + describe(item));
    return;
  }

  PluginInstanceConfig plugin;
  plugin.where = reader_.location(item.Mark());

  owner = entry_label(item, "plugin entry", index);
  auto entries = reader_.read_map(item, owner, &kPluginKeys);
  const Entry* name_entry = YamlReader::find(entries, "name");

  if (name_entry == nullptr) {
    reader_.error(item.Mark(), owner + " is missing required key 'name'");
  } else if (auto name = reader_.get_string(*name_entry, "'name' of " + owner)) {
    plugin.name = *name;
    if (!valid_instance_name(*name)) {
      reader_.error(name_entry->value.Mark(),
                    "instance name '" + *name +
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
      reader_.error(name_entry->value.Mark(), "duplicate instance name '" + plugin.name +
                                                  "' (first defined at line " +
                                                  std::to_string(it->second.line) + ")");
    } else {
      instance_names_.push_back(plugin.name);
    }
  }

  if (const Entry* e = YamlReader::find(entries, "plugin"); e == nullptr) {
    reader_.error(item.Mark(), owner + " is missing required key 'plugin'");
  } else if (auto text = reader_.get_string(*e, "'plugin' of " + owner)) {
    plugin.plugin = *text;
    StatusOr<std::filesystem::path> library =
        search_.find(*text, reader_.dir(), config_.hub.plugin_dirs);
    if (!library.ok()) {
      reader_.error(e->value.Mark(), library.status().message());
    } else {
      plugin.library = *library;
      // The hub's own plugins run on threads; anyone else's in a process of its own, so that
      // its bugs cannot take the hub down. `isolation:` overrides either.
      plugin.isolation = search_.is_bundled(*library) ? Isolation::kThread : Isolation::kProcess;
      if (options_.inspect_plugins) {
        StatusOr<const PluginLibrary*> lib = search_.inspect(*library);
        if (!lib.ok()) {
          reader_.error(e->value.Mark(), lib.status().message());
        } else {
          plugin.plugin_name = (*lib)->api().name;
          plugin.plugin_kind = (*lib)->api().kind;
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

  if (const Entry* e = YamlReader::find(entries, "isolation")) {
    if (auto s = reader_.get_string(*e, "'isolation' of " + owner)) {
      if (*s == "thread") {
        plugin.isolation = Isolation::kThread;
      } else if (*s == "process") {
        plugin.isolation = Isolation::kProcess;
      } else {
        reader_.error(e->value.Mark(), "'isolation' of " + owner +
                                           " must be 'thread' or 'process'; found '" + *s + "'" +
                                           did_you_mean_suffix(*s, {"thread", "process"}));
      }
    }
  }
  bool inproc_written = false;
  if (const Entry* e = YamlReader::find(entries, "transport")) {
    if (auto s = reader_.get_string(*e, "'transport' of " + owner)) {
      if (*s == "inproc") {
        plugin.transport = PluginTransport::kInproc;
        inproc_written = true;
      } else if (*s == "ipc") {
        plugin.transport = PluginTransport::kIpc;
      } else {
        reader_.error(e->value.Mark(), "'transport' of " + owner +
                                           " must be 'inproc' or 'ipc'; found '" + *s + "'" +
                                           did_you_mean_suffix(*s, {"inproc", "ipc"}));
      }
    }
  }
  if (const Entry* e = YamlReader::find(entries, "stop_timeout")) {
    if (auto d = reader_.get_duration(*e, "'stop_timeout' of " + owner, false)) {
      plugin.stop_timeout = *d;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "start_timeout")) {
    if (auto d = reader_.get_duration(*e, "'start_timeout' of " + owner, false)) {
      plugin.start_timeout = *d;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "restart")) {
    load_restart(*e, owner, plugin.restart);
  }
  if (plugin.isolation == Isolation::kProcess) {
    if (const Entry* transport = YamlReader::find(entries, "transport"); inproc_written) {
      reader_.error(transport->value.Mark(),
                    owner +
                        " runs in its own process (isolation: process), which "
                        "cannot reach inproc://; use transport: ipc");
    }
    plugin.transport = PluginTransport::kIpc;
  }
  if (const Entry* e = YamlReader::find(entries, "config")) {
    if (e->value.IsMap()) {
      std::vector<YamlProblem> problems;
      const config_internal::ReferenceContext references{reader_.text(), reader_.dir()};
      nlohmann::json json = yaml_to_json(e->value, problems, &references);
      for (const YamlProblem& p : problems) {
        reader_.error(p.mark, "in 'config' of " + owner + ": " + p.message);
      }
      if (problems.empty()) {
        plugin.config_json = json.dump();
        // The same mapping with its references as written: what may be shown or logged.
        std::vector<YamlProblem> repeated;  // the same problems again, already reported
        plugin.config_json_shown = yaml_to_json(e->value, repeated).dump();
      }
    } else if (!e->value.IsNull()) {
      reader_.error(e->value.Mark(),
                    "'config' of " + owner + " must be a mapping; found " + describe(e->value));
    }
  }

  config_.plugins.push_back(std::move(plugin));
}

}  // namespace config_internal

ConfigResult load_config(const std::filesystem::path& file, const LoadOptions& options) {
  try {
    return config_internal::Loader(file, options).run();
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
