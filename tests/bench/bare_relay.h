// The baseline simpang-bench compares the hub against: the least a ZeroMQ relay can do, with no
// protobuf, no routing and no acknowledgements. Three threads in one process: a producer DEALER
// sends fixed-size messages (one per ZeroMQ message), a relay thread's ROUTER forwards each to the
// consumer DEALER's routing id, and the consumer DEALER receives them. Each message carries its
// send time (steady_clock nanoseconds) in its first 8 bytes, so the consumer measures latency.
//
//   RelayResult r = run_bare_relay({.endpoint = "inproc://bench-relay", .count = 200000});
//   std::cout << r.events_per_second << " events/s, p99 " << r.latency.p99_us << " us\n";
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace simpang::bench {

// Percentiles of a set of latencies, in microseconds.
struct LatencySummary {
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// Summarises latencies given in nanoseconds. REQUIRES: nothing (an empty set gives zeros).
// Sorts `latencies_ns` in place.
LatencySummary summarize_latencies(std::vector<int64_t>& latencies_ns);

// Nanoseconds on the steady clock: comparable between threads and plugins of one process.
int64_t steady_now_ns();

struct RelayOptions {
  // Where the relay's ROUTER binds and both DEALERs connect: inproc://NAME or ipc://PATH.
  std::string endpoint;
  uint64_t count = 200000;
  size_t payload_bytes = 256;  // at least 8 (the timestamp)
  // Offered load in messages per second; 0 sends as fast as the high-water marks allow.
  double rate = 0;
};

struct RelayResult {
  uint64_t events = 0;
  double seconds = 0;  // first send to last receive
  double events_per_second = 0;
  LatencySummary latency;
};

// Runs one relay to completion and returns what it measured. Throws std::runtime_error when a
// socket cannot be set up. Thread rule: any thread; it starts and joins its own three.
RelayResult run_bare_relay(const RelayOptions& options);

}  // namespace simpang::bench
