// What a route is, as the router takes it: the definitions the configuration loader fills from
// `routes:` and the router compiles (RouteTable::compile) and the broker applies (retry, ordering).
// The router owns these types so it depends on nothing of the configuration; config/config.h
// includes this header, not the other way round.
//
//   RouteConfig route;
//   route.name = "completions";
//   route.from = {"lms-*"};
//   route.types = {"talent.completion.**"};
//   route.to = {"ledger"};
//   route.ordering = Ordering::kSubject;
//
// Thread rule: plain values; copied freely.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace simpang::hub {

// Where in a text file something was written. Lines and columns count from 1; line 0 means the
// file as a whole. Carried by definitions so later messages can point at them.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// How a route retries a destination that failed (nack-retryable, or a consumer lost mid-delivery).
struct RetryPolicy {
  uint32_t max_attempts = 10;                      // deliveries tried before dead-lettering
  std::chrono::milliseconds initial_backoff{100};  // wait before the 2nd attempt; doubles each time
  std::chrono::milliseconds max_backoff{30000};    // the doubling stops here
  // Dead-letter once this long since the event was accepted; 0: no deadline.
  std::chrono::milliseconds deadline{3600000};
};

enum class Ordering {
  kNone,     // deliveries to a destination may overtake each other (bounded parallelism)
  kSubject,  // per (destination, subject): one at a time, in publish order, retries included
};

// One route (an entry of `routes:`). Patterns are kept as written; the router compiles them.
struct RouteConfig {
  std::string name;
  std::vector<std::string> from;   // instance-name globs: `*` any run, `?` one char
  std::vector<std::string> types;  // dot-segment patterns: `*` one segment, `**` zero or more
  std::optional<std::string> subject_prefix;
  std::map<std::string, std::string> extensions;  // extension attribute == value (string form)
  std::vector<std::string> to;  // destination instance names (fan-out when several)
  RetryPolicy retry;
  Ordering ordering = Ordering::kNone;
  SourceLocation where;  // where the definition was written
};

}  // namespace simpang::hub
