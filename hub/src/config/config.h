// The hub's configuration: what one YAML file says, after validation.
//
// load_config() reads the file, checks everything it can without starting anything, and returns
// either a Config or every problem found, each with the file, line and column it is about. `simpang
// check` prints those diagnostics; `simpang run` refuses to start while there is any.
//
//   ConfigResult r = simpang::hub::load_config("config/demo.yaml");
//   if (!r.ok()) { for (auto& d : r.diagnostics) std::cerr << d.to_string() << "\n"; return 1; }
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/admin_config.h"
#include "config/partners_config.h"
#include "journal/journal_options.h"
#include "router/route_definition.h"  // RouteConfig, RetryPolicy, Ordering, SourceLocation
#include "simpang/base/duration.h"

namespace simpang::hub {

// One problem found in a configuration file.
struct Diagnostic {
  SourceLocation where;
  std::string message;
  // "FILE:LINE:COLUMN: message", the form editors and CI annotate. A problem with the file as a
  // whole (it cannot be read) has line 0 and prints as "FILE: message".
  std::string to_string() const;
};

enum class Isolation {
  kThread,   // on a thread inside the hub process
  kProcess,  // in a supervised `simpang plugin-host` child process, connected over ipc://
};

// How the hub restarts a process-isolated instance that crashed or hung.
struct RestartPolicy {
  std::chrono::milliseconds initial_backoff{500};  // wait before the first restart; doubles
  std::chrono::milliseconds max_backoff{30000};
  uint32_t max_failures = 5;                       // this many failures within `window`...
  std::chrono::milliseconds window{60000};         // ...and the instance is marked failed
};

enum class PluginTransport {
  kInproc,  // inproc:// endpoint in the hub's ZeroMQ context (fastest; thread isolation only)
  kIpc,     // ipc:// socket in the state directory
};

// One configured plugin instance (an entry of `plugins:`).
struct PluginInstanceConfig {
  std::string name;                   // unique instance name; routes refer to it
  std::string plugin;                 // as written: a plugin name or a path to a .so
  std::filesystem::path library;      // resolved absolute path of the .so
  std::string plugin_name;            // the name the library reports (simpang_plugin_api::name)
  uint32_t plugin_kind = 0;           // simpang_plugin_kind the library reports
  // Default: thread for the plugins shipped with the hub, process for any other library.
  Isolation isolation = Isolation::kThread;
  PluginTransport transport = PluginTransport::kInproc;
  // The instance's `config:` mapping converted to JSON, its ${env:...} and ${file:...} references
  // resolved: it may hold secrets. Only the plugin gets it; never log, print or store it anywhere
  // but where the plugin reads it (a process-isolated instance's 0600 config file).
  std::string config_json = "{}";
  // The same mapping with every reference as written (`${env:TOKEN}`, never its value): the form
  // to show wherever the configuration is shown to people.
  std::string config_json_shown = "{}";
  std::chrono::milliseconds stop_timeout{5000};
  std::chrono::milliseconds start_timeout{10000};  // process: time to say hello after spawning
  RestartPolicy restart;                           // process isolation only
  SourceLocation where;               // where the entry starts, for later messages
};

struct HubSettings {
  std::filesystem::path state_dir;    // absolute; relative paths resolve against the config's dir
  std::string log_level = "info";     // trace, debug, info, warn, error, critical, off
  std::chrono::milliseconds summary_interval{5000};  // 0 turns the summary line off
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds drain_timeout{10000};    // how long shutdown waits for in-flight work
  uint32_t max_batch = 512;           // most events per Publish / Deliver frame
  uint32_t queue_limit = 100000;      // events queued per destination before publishers wait
  // The doors: limits the hub announces in its Welcome and enforces on every peer (docs/
  // configuration.md). max_frame_bytes 0 means derived: max_batch * max_event_bytes plus room
  // for the frame's own fields, at most kDefaultMaxFrameBytes, at least one full-size event.
  uint32_t max_unacked = 8;                    // Publish batches a peer may have unacknowledged
  uint32_t max_event_bytes = 1024 * 1024;      // one serialized event
  uint32_t max_frame_bytes = 0;                // one message on the socket (ZMQ_MAXMSGSIZE)
  uint32_t max_attributes = 64;                // extension attributes on one event
  uint32_t max_attribute_bytes = 4096;         // id, source, type, subject; an extension's
  uint32_t max_json_depth = 64;                // CloudEvents JSON nesting the SDK reads
  std::vector<std::filesystem::path> plugin_dirs;  // searched for `plugin: NAME` (NAME.so)
};

// The `journal:` section is the journal's own options (journal/journal_options.h), which the hub
// passes to open_journal() as they are: `journal.kind` is JournalOptions::backend, `journal.file`
// defaults to <state_dir>/journal.db, `journal.sync: full` is JournalSync::kFull. The options the
// YAML does not set (dedup_max_events, max_commit_events, maintenance_interval, clock) keep
// JournalOptions' defaults.

// The frame limit when none is configured is bounded: a full batch of full-size events would
// otherwise allow one message of max_batch MiB.
inline constexpr uint32_t kDefaultMaxFrameBytes = 16 * 1024 * 1024;
// What a Publish frame needs beyond its events' bytes: each event's tag and length, the batch
// number, and the cursors it carries.
inline constexpr uint32_t kFrameOverheadBytes = 64 * 1024;
// The frame limit that applies to `hub`: its max_frame_bytes, or the derived default.
uint32_t effective_max_frame_bytes(const HubSettings& hub);

struct Config {
  std::filesystem::path file;         // the file it was loaded from
  HubSettings hub;
  JournalOptions journal;
  std::vector<PluginInstanceConfig> plugins;
  std::vector<RouteConfig> routes;
  PartnerDoorConfig partner_door;       // the tcp door for partners (config/partners_config.h)
  std::vector<PartnerConfig> partners;  // who may come in, and what each may do
  AdminConfig admin;                    // the admin HTTP API (config/admin_config.h)

  const PluginInstanceConfig* find_plugin(std::string_view name) const;
};

struct ConfigResult {
  std::optional<Config> config;       // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return config.has_value() && diagnostics.empty(); }
};

struct LoadOptions {
  // Searched after the config's own `hub.plugin_dirs`; the hub passes the directory its
  // executable's plugins were installed to (bin/../lib/simpang/plugins).
  std::vector<std::filesystem::path> default_plugin_dirs;
  // When true, each plugin library is opened to check it loads, exports the entry symbol and
  // speaks a compatible ABI; its kind and name are recorded.
  bool inspect_plugins = true;
};

// Reads and validates the file. Never throws for problems in the file; those are diagnostics.
ConfigResult load_config(const std::filesystem::path& file, const LoadOptions& options = {});

// Parses "250ms", "5s", "2m", "1h" (an integer and a unit); nullopt if malformed. The base
// library's grammar (simpang/base/duration.h), the one plugins' ConfigReader uses too.
using ::simpang::parse_duration;

}  // namespace simpang::hub
