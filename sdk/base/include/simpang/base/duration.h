// The one grammar for durations, used by the hub's YAML (hub.heartbeat: 1s), the CLI
// (`--duration 3s`) and plugins' own config (ConfigReader's std::chrono::milliseconds values):
// a non-negative integer and a unit, with nothing around them.
//
//   std::optional<std::chrono::milliseconds> d = simpang::parse_duration("250ms");  // 250 ms
//   simpang::parse_duration("1.5s");                                               // nullopt
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace simpang {

// Parses "250ms", "5s", "2m" or "1h": digits, then one of the units ms, s, m, h. Returns nullopt
// for anything else (a sign, a fraction, blanks, another unit, no unit) and for an amount whose
// milliseconds do not fit in 64 bits. Range checks (at most a day, not zero) are the caller's.
// Thread rule: none (a pure function).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace simpang
