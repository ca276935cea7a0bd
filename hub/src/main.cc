// The `simpang` command: run a hub, check a configuration, print versions.
#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "admin/admin_server.h"
#include "cli/journal_commands.h"
#include "cli/keys_command.h"
#include "cli/ledger_command.h"
#include "cli/live_commands.h"
#include "cli/plugin_new.h"
#include "cli/routes_command.h"
#include "config/config.h"
#include "core/hub.h"
#include "core/plugin_host.h"
#include "simpang/version.h"

namespace {

using simpang::hub::ConfigResult;
using simpang::hub::LoadOptions;

// bin/simpang finds its plugins in bin/../lib/simpang/plugins, in the build tree and installed.
std::filesystem::path bundled_plugin_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return {};
  }
  return (exe.parent_path() / SIMPANG_PLUGIN_RELATIVE_DIR).lexically_normal();
}

ConfigResult load(const std::string& file, bool inspect_plugins = true) {
  LoadOptions options;
  options.inspect_plugins = inspect_plugins;
  if (auto dir = bundled_plugin_dir(); !dir.empty()) {
    options.default_plugin_dirs.push_back(dir);
  }
  return simpang::hub::load_config(file, options);
}

void print_diagnostics(const ConfigResult& result) {
  for (const auto& diagnostic : result.diagnostics) {
    std::cerr << diagnostic.to_string() << "\n";
  }
  std::cerr << result.diagnostics.size()
            << (result.diagnostics.size() == 1 ? " problem" : " problems") << " found\n";
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("simpang");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

int run_command(const std::string& file, const std::optional<std::string>& duration_text,
                const std::optional<std::string>& log_level, std::optional<int> ready_fd) {
  std::optional<std::chrono::milliseconds> duration;
  if (duration_text) {
    duration = simpang::hub::parse_duration(*duration_text);
    if (!duration || duration->count() <= 0) {
      std::cerr << "simpang run: --duration '" << *duration_text
                << "' is not a duration (examples: 500ms, 30s, 5m)\n";
      return 2;
    }
  }
  if (ready_fd) {
    // Not for the plugin-host children: the reader sees end-of-file once the hub is gone.
    if (::fcntl(*ready_fd, F_SETFD, FD_CLOEXEC) != 0) {
      std::cerr << "simpang run: --ready-fd " << *ready_fd << " is not an open file descriptor\n";
      return 2;
    }
  }
  ConfigResult result = load(file);
  if (!result.ok()) {
    print_diagnostics(result);
    std::cerr << "simpang run: refusing to start with an invalid configuration\n";
    return 1;
  }
  setup_logging(log_level.value_or(result.config->hub.log_level));
  simpang::hub::Hub hub(std::move(*result.config));
  // --ready-fd: "ready" and end-of-file once every instance runs, for whoever started the hub.
  auto on_running = [ready_fd] {
    if (ready_fd) {
      constexpr char kReady[] = "ready\n";
      [[maybe_unused]] auto n = ::write(*ready_fd, kReady, sizeof(kReady) - 1);
      ::close(*ready_fd);
    }
  };
  // The admin API, when the configuration has an `admin:` section.
  auto attach = [&hub, file](simpang::hub::RunningHub& running, const simpang::hub::Config& config)
      -> simpang::StatusOr<std::unique_ptr<simpang::hub::HubAttachment>> {
    if (!config.admin.enabled) {
      return std::unique_ptr<simpang::hub::HubAttachment>();
    }
    std::optional<std::filesystem::path> journal_file;
    if (config.journal.backend == simpang::hub::JournalBackend::kSqlite) {
      journal_file = config.journal.file;
    }
    auto admin = simpang::hub::admin::AdminServer::start(
        running, {.config = config.admin,
                  .state_dir = config.hub.state_dir,
                  .journal_file = journal_file,
                  .logger = spdlog::default_logger()->clone("admin"),
                  .reload = [&hub] { return hub.request_reload_answered(); },
                  .validate = [file] { return load(file); }});
    if (!admin.ok()) {
      return admin.status();
    }
    return std::unique_ptr<simpang::hub::HubAttachment>(std::move(*admin));
  };
  return hub.run({.duration = duration,
                  .reload = [file] { return load(file); },
                  .on_running = on_running,
                  .attach = attach});
}

int check_command(const std::string& file) {
  ConfigResult result = load(file);
  if (!result.ok()) {
    print_diagnostics(result);
    return 1;
  }
  std::cout << file << ": OK (" << result.config->plugins.size() << " plugin instances, "
            << result.config->routes.size() << " routes)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Simpang: the integration hub of the national AI-talent programme"};
  app.require_subcommand(1);

  auto* run = app.add_subcommand("run", "Run a hub until SIGINT/SIGTERM (or --duration)");
  std::string run_file;
  std::optional<std::string> duration;
  std::optional<std::string> log_level;
  run->add_option("CONFIG", run_file, "Configuration file (YAML)")->required();
  run->add_option("--duration", duration, "Stop cleanly after this long, e.g. 30s");
  run->add_option("--log-level", log_level, "Override hub.log_level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  std::optional<int> ready_fd;
  run->add_option("--ready-fd", ready_fd,
                  "Write \"ready\" to this file descriptor and close it once every plugin "
                  "instance has started")
      ->check(CLI::NonNegativeNumber);

  auto* check = app.add_subcommand("check", "Validate a configuration file; exit 1 on problems");
  std::string check_file;
  check->add_option("CONFIG", check_file, "Configuration file (YAML)")->required();

  auto* version =
      app.add_subcommand("version", "Print versions: Simpang, plugin ABI, wire protocol");

  // Spawned by the hub for `isolation: process`; not meant to be run by hand.
  auto* host = app.add_subcommand("plugin-host", "Run one plugin instance for a hub (internal)");
  simpang::hub::PluginHostOptions host_options;
  int64_t heartbeat_ms = 1000;
  int64_t stop_timeout_ms = 5000;
  host->add_option("--library", host_options.library, "Plugin library")->required();
  host->add_option("--instance", host_options.instance, "Instance name")->required();
  host->add_option("--endpoint", host_options.endpoint, "The hub's endpoint")->required();
  host->add_option("--state-dir", host_options.state_dir, "Instance state directory")->required();
  host->add_option("--config-file", host_options.config_file, "Instance config JSON")->required();
  host->add_option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval");
  host->add_option("--stop-timeout-ms", stop_timeout_ms, "Stop grace period");
  host->add_option("--log-level", host_options.log_level, "Log level");
  host->group("");  // hidden from --help

  // Operator commands read the configuration only to find the journal: plugins are not opened.
  auto run_journal_command = simpang::hub::add_journal_commands(
      app, [](const std::string& file) { return load(file, /*inspect_plugins=*/false); });
  auto run_plugin_command = simpang::hub::add_plugin_commands(app);
  auto run_keys_command = simpang::hub::add_keys_commands(app);
  auto run_ledger_command = simpang::hub::add_ledger_commands(
      app, [](const std::string& file) { return load(file, /*inspect_plugins=*/false); });
  auto run_routes_command = simpang::hub::add_routes_commands(
      app, [](const std::string& file) { return load(file, /*inspect_plugins=*/false); });
  auto run_live_command = simpang::hub::add_live_commands(
      app, [](const std::string& file) { return load(file, /*inspect_plugins=*/false); });

  CLI11_PARSE(app, argc, argv);

  if (run->parsed()) {
    return run_command(run_file, duration, log_level, ready_fd);
  }
  if (check->parsed()) {
    return check_command(check_file);
  }
  if (host->parsed()) {
    setup_logging(host_options.log_level);
    host_options.heartbeat = std::chrono::milliseconds(heartbeat_ms);
    host_options.stop_timeout = std::chrono::milliseconds(stop_timeout_ms);
    return simpang::hub::run_plugin_host(host_options);
  }
  if (int status = run_journal_command(); status >= 0) {
    return status;
  }
  if (int status = run_keys_command(); status >= 0) {
    return status;
  }
  if (int status = run_ledger_command(); status >= 0) {
    return status;
  }
  if (int status = run_routes_command(); status >= 0) {
    return status;
  }
  if (int status = run_live_command(); status >= 0) {
    return status;
  }
  if (int status = run_plugin_command(); status >= 0) {
    return status;
  }
  if (version->parsed()) {
    std::cout << "simpang " << SIMPANG_VERSION << "\n"
              << "plugin ABI " << SIMPANG_ABI_MAJOR << "." << SIMPANG_ABI_MINOR << "\n"
              << "wire protocol " << SIMPANG_WIRE_PROTOCOL_VERSION << "\n";
    return 0;
  }
  return 0;
}
