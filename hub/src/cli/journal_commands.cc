#include "cli/journal_commands.h"

#include <google/protobuf/util/time_util.h>

#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <tuple>

#include "cli/shadow_replay.h"
#include "journal/open_journal.h"
#include "simpang/sdk/cloudevents.h"

namespace simpang::hub {
namespace {

using std::chrono::milliseconds;

struct Options {
  std::string config;
  std::optional<uint64_t> id;
  std::optional<std::string> to;
  std::optional<std::string> route;
  std::optional<std::string> type;
  bool all = false;
  size_t limit = 100;
  std::string wait = "30s";
  std::optional<std::string> since;
  std::optional<uint64_t> from_seq;
  // Shadow replay (shadow_replay.h).
  std::optional<std::string> through;
  std::optional<std::string> until;
  std::optional<size_t> scan_limit;
  bool json = false;
};

std::string format_time(std::chrono::system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros));
}

DeadLetterFilter filter_of(const Options& o) {
  DeadLetterFilter filter;
  filter.delivery_id = o.id;
  filter.destination = o.to;
  filter.route = o.route;
  filter.event_type = o.type;
  return filter;
}

bool has_filter(const Options& o) { return o.id || o.to || o.route || o.type; }

// Opens the journal the configuration names. Prints why not and returns null on failure.
std::unique_ptr<JournalAdmin> open_admin(
    const Options& o, const std::function<ConfigResult(const std::string&)>& load) {
  ConfigResult config = load(o.config);
  if (!config.ok()) {
    for (const auto& d : config.diagnostics) {
      std::cerr << d.to_string() << "\n";
    }
    return nullptr;
  }
  auto admin = open_journal_admin(config.config->journal);
  if (!admin.ok()) {
    std::cerr << admin.status().message() << "\n";
    return nullptr;
  }
  return std::move(*admin);
}

std::optional<milliseconds> wait_of(const Options& o) {
  auto wait = parse_duration(o.wait);
  if (!wait) {
    std::cerr << "--wait '" << o.wait << "' is not a duration (examples: 10s, 2m)\n";
  }
  return wait;
}

int list(const Options& o, JournalAdmin& admin) {
  auto dead = admin.list_dead(filter_of(o), o.limit);
  if (!dead.ok()) {
    std::cerr << dead.status().message() << "\n";
    return 1;
  }
  if (dead->empty()) {
    std::cout << "the dead-letter queue is empty" << (has_filter(o) ? " (for this filter)" : "")
              << "\n";
    return 0;
  }
  std::cout << std::left << std::setw(10) << "ID" << std::setw(20) << "DESTINATION" << std::setw(20)
            << "ROUTE" << std::setw(9) << "ATTEMPTS" << std::setw(30) << "DEAD AT" << std::setw(28)
            << "EVENT ID"
            << "TYPE / LAST ERROR\n";
  for (const auto& d : *dead) {
    std::cout << std::left << std::setw(10) << d.delivery_id << std::setw(20) << d.destination
              << std::setw(20) << d.route << std::setw(9) << d.attempts << std::setw(30)
              << format_time(d.dead_at) << std::setw(28) << d.event_id << d.event_type << "\n"
              << std::string(10, ' ') << d.last_error << "\n";
  }
  if (dead->size() == o.limit) {
    std::cout << "(first " << o.limit << " shown; use --limit for more)\n";
  }
  return 0;
}

int show(const Options& o, JournalAdmin& admin) {
  auto d = admin.show_dead(*o.id);
  if (!d.ok()) {
    std::cerr << d.status().message() << "\n";
    return 1;
  }
  std::cout << "delivery:    " << d->delivery_id << "\n"
            << "destination: " << d->destination << "\n"
            << "route:       " << d->route << "\n"
            << "attempts:    " << d->attempts << "\n"
            << "dead at:     " << format_time(d->dead_at) << "\n"
            << "last error:  " << d->last_error << "\n"
            << "event seq:   " << d->event_seq << "\n";
  simpang::v1::Event event;
  if (event.ParseFromString(d->body)) {
    std::cout << "event:       " << simpang::sdk::to_cloudevents_json(event) << "\n";
  }
  return 0;
}

int replay_or_drop(const Options& o, JournalAdmin& admin, bool replay) {
  if (!has_filter(o) && !o.all) {
    std::cerr << "say which dead letters: --id, --to, --route, --type, or --all\n";
    return 2;
  }
  StatusOr<uint64_t> count = uint64_t{0};
  if (replay) {
    auto wait = wait_of(o);
    if (!wait) {
      return 2;
    }
    count = admin.replay_dead(filter_of(o), *wait);
  } else {
    count = admin.drop_dead(filter_of(o));
  }
  if (!count.ok()) {
    std::cerr << count.status().message() << "\n";
    return 1;
  }
  std::cout << (replay ? "replayed " : "dropped ") << *count << " dead letter"
            << (*count == 1 ? "" : "s") << "\n";
  return 0;
}

// An RFC 3339 time from option `name`; prints why not and returns nullopt.
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& name,
                                                                const std::string& text) {
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(text, &ts)) {
    std::cerr << name << " '" << text
              << "' is not an RFC 3339 time (example: 2026-11-29T08:00:00Z)\n";
    return std::nullopt;
  }
  // The clock counts nanoseconds in 64 bits: years past 2262 do not fit.
  const int64_t micros = google::protobuf::util::TimeUtil::TimestampToMicroseconds(ts);
  using Clock = std::chrono::system_clock;
  if (micros >
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::max()).count() ||
      micros <
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::min()).count()) {
    std::cerr << name << " '" << text << "' is out of range (years 1678 to 2262)\n";
    return std::nullopt;
  }
  return Clock::time_point(std::chrono::microseconds(micros));
}

int shadow(const Options& o, JournalAdmin& admin,
           const std::function<ConfigResult(const std::string&)>& load) {
  if (o.from_seq) {
    std::cerr << "--through reads history by time: use --since (and --until), not --from-seq\n";
    return 2;
  }
  ShadowReplayOptions options;
  options.current_file = o.config;
  options.next_file = *o.through;
  options.json = o.json;
  if (o.scan_limit) options.range.limit = *o.scan_limit;
  for (const auto& [name, text, into] : {std::tuple{"--since", &o.since, &options.range.since},
                                         std::tuple{"--until", &o.until, &options.range.until}}) {
    if (!text->has_value()) continue;
    auto t = parse_time(name, **text);
    if (!t) return 2;
    *into = *t;
  }
  ConfigResult current = load(o.config);
  ConfigResult next = load(*o.through);
  if (!next.ok()) {
    std::cerr << *o.through << ": the changed configuration is not valid; nothing was compared\n";
    for (const auto& d : next.diagnostics) std::cerr << d.to_string() << "\n";
    return 1;
  }
  if (!current.ok()) {  // it loaded a moment ago to open the journal
    for (const auto& d : current.diagnostics) std::cerr << d.to_string() << "\n";
    return 1;
  }
  return shadow_replay(*current.config, *next.config, admin, options);
}

int replay_history(const Options& o, JournalAdmin& admin) {
  if (o.since.has_value() == o.from_seq.has_value()) {
    std::cerr << "say where to start: --since TIME (RFC 3339) or --from-seq N\n";
    return 2;
  }
  ReplaySpec spec;
  spec.destination = *o.to;
  spec.from_seq = o.from_seq;
  if (o.since) {
    auto since = parse_time("--since", *o.since);
    if (!since) return 2;
    spec.since = *since;
  }
  auto wait = wait_of(o);
  if (!wait) {
    return 2;
  }
  auto count = admin.replay_history(spec, *wait);
  if (!count.ok()) {
    std::cerr << count.status().message() << "\n";
    return 1;
  }
  std::cout << "queued " << *count << " deliveries to " << spec.destination << "\n";
  return 0;
}

void add_filter_options(CLI::App* command, Options& o) {
  command->add_option("--id", o.id, "One dead letter, by its ID");
  command->add_option("--to", o.to, "Dead letters of this destination instance");
  command->add_option("--route", o.route, "Dead letters of this route");
  command->add_option("--type", o.type, "Dead letters of this event type");
}

}  // namespace

std::function<int()> add_journal_commands(CLI::App& app,
                                          std::function<ConfigResult(const std::string&)> load) {
  auto options = std::make_shared<Options>();
  Options& o = *options;

  auto* dlq = app.add_subcommand("dlq", "Inspect, replay or drop dead letters");
  dlq->require_subcommand(1);
  auto* list_cmd = dlq->add_subcommand("list", "List dead letters, oldest first");
  auto* show_cmd = dlq->add_subcommand("show", "Show one dead letter with its event");
  auto* replay_cmd = dlq->add_subcommand("replay", "Deliver dead letters again");
  auto* drop_cmd = dlq->add_subcommand("drop", "Delete dead letters for good");
  for (auto* command : {list_cmd, show_cmd, replay_cmd, drop_cmd}) {
    command->add_option("CONFIG", o.config, "The hub's configuration file")->required();
  }
  add_filter_options(list_cmd, o);
  list_cmd->add_option("--limit", o.limit, "Show at most this many")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            const bool whole =
                !value.empty() && value.find_first_not_of("0123456789") == value.npos;
            return whole && value.find_first_not_of('0') != value.npos
                       ? std::string()
                       : "must be a whole number of at least 1, got '" + value + "'";
          },
          "N"))
      ->capture_default_str();
  show_cmd->add_option("ID", o.id, "The dead letter's ID (from `dlq list`)")->required();
  add_filter_options(replay_cmd, o);
  replay_cmd->add_flag("--all", o.all, "Every dead letter");
  replay_cmd->add_option("--wait", o.wait, "How long to wait for a running hub to take it")
      ->capture_default_str();
  add_filter_options(drop_cmd, o);
  drop_cmd->add_flag("--all", o.all, "Every dead letter");

  auto* replay = app.add_subcommand(
      "replay",
      "Deliver journaled history to a destination again (--to), or run it through a "
      "changed configuration's routes without delivering anything (--through)");
  replay->add_option("CONFIG", o.config, "The hub's configuration file")->required();
  auto* to = replay->add_option("--to", o.to, "The destination instance to deliver to again");
  auto* through = replay->add_option(
      "--through", o.through,
      "A changed configuration: show per destination what its routes would deliver differently");
  to->excludes(through);
  replay->add_option("--since", o.since, "Events journaled at or after this RFC 3339 time");
  replay->add_option("--until", o.until, "With --through: events journaled before this time");
  replay->add_option("--from-seq", o.from_seq, "Events from this journal sequence number on");
  replay->add_option("--limit", o.scan_limit, "With --through: read at most this many events");
  replay->add_flag("--json", o.json, "With --through: the comparison as JSON");
  replay->add_option("--wait", o.wait, "How long to wait for a running hub to take it")
      ->capture_default_str();

  return [=]() -> int {
    const Options& o = *options;
    CLI::App* parsed = nullptr;
    for (auto* command : {list_cmd, show_cmd, replay_cmd, drop_cmd, replay}) {
      if (command->parsed()) {
        parsed = command;
      }
    }
    if (parsed == nullptr) {
      return -1;
    }
    auto admin = open_admin(o, load);
    if (!admin) {
      return 1;
    }
    if (parsed == list_cmd) {
      return list(o, *admin);
    }
    if (parsed == show_cmd) {
      return show(o, *admin);
    }
    if (parsed == replay_cmd || parsed == drop_cmd) {
      return replay_or_drop(o, *admin, /*replay=*/parsed == replay_cmd);
    }
    if (o.through) {
      return shadow(o, *admin, load);
    }
    if (!o.to) {
      std::cerr << "say what to do: --to DESTINATION (deliver again) or --through NEW_CONFIG "
                   "(compare without delivering)\n";
      return 2;
    }
    return replay_history(o, *admin);
  };
}

}  // namespace simpang::hub
