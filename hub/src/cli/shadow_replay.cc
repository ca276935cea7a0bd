#include "cli/shadow_replay.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "router/route_table.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub {
namespace {

using nlohmann::json;

struct Sample {
  std::string id;
  std::string type;
};

// What the change does to one destination.
struct Difference {
  uint64_t unchanged = 0;
  uint64_t added = 0;    // the changed routes would send the event here; today's do not
  uint64_t removed = 0;  // today's routes send it here; the changed ones would not
  std::vector<Sample> added_samples;
  std::vector<Sample> removed_samples;
};

std::set<std::string> destinations_of(const RouteTable& table, std::string_view from,
                                      const simpang::v1::Event& event,
                                      std::vector<RouteTarget>& scratch) {
  scratch.clear();
  table.match(from, event, scratch);
  std::set<std::string> names;
  for (const RouteTarget& t : scratch) names.insert(table.destinations()[t.destination]);
  return names;
}

json samples_json(const std::vector<Sample>& samples) {
  json out = json::array();
  for (const auto& s : samples) out.push_back({{"id", s.id}, {"type", s.type}});
  return out;
}

std::string format_time(std::chrono::system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros));
}

}  // namespace

int shadow_replay(const Config& current, const Config& next, JournalAdmin& admin,
                  const ShadowReplayOptions& o) {
  auto today = RouteTable::compile(current.routes);
  if (!today.ok()) {
    std::cerr << o.current_file << ": " << today.status().message() << "\n";
    return 1;
  }
  auto changed = RouteTable::compile(next.routes);
  if (!changed.ok()) {
    std::cerr << o.next_file << ": " << changed.status().message() << "\n";
    return 1;
  }
  std::map<std::string, Difference> by_destination;
  for (const auto& name : (*today)->destinations()) by_destination[name];
  for (const auto& name : (*changed)->destinations()) by_destination[name];
  uint64_t unreadable = 0;
  uint64_t unrouted_today = 0;
  uint64_t unrouted_changed = 0;
  std::optional<std::chrono::system_clock::time_point> first;
  std::optional<std::chrono::system_clock::time_point> last;
  std::vector<RouteTarget> scratch;
  simpang::v1::Event event;
  auto read = admin.read_history(o.range, [&](const JournaledEvent& journaled) {
    if (!event.ParseFromString(journaled.body)) {
      ++unreadable;
      return true;
    }
    if (!first) first = journaled.received;
    last = journaled.received;
    const auto before = destinations_of(**today, journaled.publisher, event, scratch);
    const auto after = destinations_of(**changed, journaled.publisher, event, scratch);
    unrouted_today += before.empty() ? 1 : 0;
    unrouted_changed += after.empty() ? 1 : 0;
    for (const auto& name : before) {
      Difference& d = by_destination[name];
      if (after.count(name)) {
        ++d.unchanged;
      } else {
        ++d.removed;
        if (d.removed_samples.size() < o.samples)
          d.removed_samples.push_back({event.id(), event.type()});
      }
    }
    for (const auto& name : after) {
      if (before.count(name)) continue;
      Difference& d = by_destination[name];
      ++d.added;
      if (d.added_samples.size() < o.samples) d.added_samples.push_back({event.id(), event.type()});
    }
    return true;
  });
  if (!read.ok()) {
    std::cerr << read.status().message() << "\n";
    return 1;
  }
  const auto& today_names = (*today)->destinations();
  const auto& changed_names = (*changed)->destinations();
  const auto in = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };

  if (o.json) {
    json destinations = json::object();
    for (const auto& [name, d] : by_destination) {
      destinations[name] = {{"unchanged", d.unchanged},
                            {"added", d.added},
                            {"removed", d.removed},
                            {"added_samples", samples_json(d.added_samples)},
                            {"removed_samples", samples_json(d.removed_samples)},
                            {"in_current", in(today_names, name)},
                            {"in_next", in(changed_names, name)}};
    }
    json out = {{"events", *read - unreadable},
                {"unreadable", unreadable},
                {"unrouted", {{"current", unrouted_today}, {"next", unrouted_changed}}},
                {"destinations", destinations}};
    if (first) {
      out["first_received"] = format_time(*first);
      out["last_received"] = format_time(*last);
    }
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }

  std::cout << "shadow replay of " << *read - unreadable << " journaled events";
  if (first)
    std::cout << " (received " << format_time(*first) << " to " << format_time(*last) << ")";
  std::cout << "\nthrough " << o.next_file << " instead of " << o.current_file
            << "; nothing is delivered\n\n";
  std::cout << std::left << std::setw(24) << "destination" << std::right << std::setw(11)
            << "unchanged" << std::setw(9) << "added" << std::setw(9) << "removed"
            << "\n";
  for (const auto& [name, d] : by_destination) {
    std::string label = name;
    if (!in(today_names, name)) label += " (new)";
    if (!in(changed_names, name)) label += " (gone)";
    std::cout << std::left << std::setw(24) << label << std::right << std::setw(11) << d.unchanged
              << std::setw(9) << d.added << std::setw(9) << d.removed << "\n";
    for (const auto& [word, samples] :
         {std::pair{"added", &d.added_samples}, std::pair{"removed", &d.removed_samples}}) {
      if (samples->empty()) continue;
      std::cout << "    " << word << ", e.g.:";
      for (const auto& s : *samples) std::cout << " " << s.id << " (" << s.type << ")";
      std::cout << "\n";
    }
  }
  std::cout << "\nunrouted: " << unrouted_today << " today, " << unrouted_changed
            << " with the change\n";
  if (unreadable > 0) std::cout << unreadable << " journaled events could not be read\n";
  return 0;
}

}  // namespace simpang::hub
