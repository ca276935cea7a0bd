// RouteTable::match on a realistic table of 20 routes, next to two baselines: the bare hash
// lookup the cache costs at best, and the uncached pattern matching it saves.
//
//   build/bin/router_benchmark --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "router/instance_glob.h"
#include "router/route_table.h"
#include "simpang/base/type_pattern.h"

namespace simpang::hub {
namespace {

RouteConfig route(std::string name, std::vector<std::string> from, std::vector<std::string> types,
                  std::vector<std::string> to) {
  RouteConfig r;
  r.name = std::move(name);
  r.from = std::move(from);
  r.types = std::move(types);
  r.to = std::move(to);
  return r;
}

// Twenty routes of the shapes a programme configuration has: literal types, one-segment and
// any-segment wildcards, several publishers per route, fan-out, and two conditional routes.
std::vector<RouteConfig> routes() {
  std::vector<RouteConfig> r = {
      route("ledger-talent", {"lms-*", "hr-*", "sim-*"}, {"talent.**"}, {"sink-ledger"}),
      route("completions-webhook", {"lms-*"}, {"talent.completion.*"}, {"sink-webhook"}),
      route("credentials", {"lms-*", "partner-*"},
            {"talent.credential.issued", "talent.credential.revoked"},
            {"sink-webhook", "hr-writeback"}),
      route("employment", {"hr-*"}, {"talent.employment.*"}, {"sink-ledger", "bridge-nats"}),
      route("enrollments-hr", {"lms-*"},
            {"talent.enrollment.created", "talent.enrollment.withdrawn"}, {"hr-writeback"}),
      route("partners", {"partner-*"}, {"talent.organisation.**"}, {"sink-ledger", "bridge-nats"}),
      route("person-sync", {"hr-scim"}, {"talent.person.*"}, {"lms-moodle", "lms-xapi"}),
      route("course-catalogue", {"lms-moodle"}, {"talent.course.**"}, {"bridge-nats"}),
      route("recorded-everything", {"*"}, {"**.recorded"}, {"bridge-nats"}),
      route("sim-debug", {"sim-?"}, {"sim.**"}, {"sink-debug"}),
      route("hr-csv-import", {"hr-csv"}, {"hr.import.*"}, {"transform-hr"}),
      route("hr-normalised", {"transform-hr"}, {"talent.person.*", "talent.employment.*"},
            {"sink-ledger"}),
      route("xapi-statements", {"lms-xapi"}, {"xapi.statement.*"}, {"transform-xapi"}),
      route("caliper-events", {"lms-caliper"}, {"caliper.**"}, {"transform-caliper"}),
      route("partner-webhooks", {"partner-*"}, {"partner.*.updated"}, {"sink-webhook"}),
      route("registry", {"partner-registry"}, {"registry.**"}, {"sink-ledger"}),
      route("dlq-alerts", {"*"}, {"simpang.deadletter.*"}, {"sink-alerts"}),
      route("metrics", {"*"}, {"simpang.metrics.**"}, {"bridge-metrics"}),
  };
  RouteConfig vip =
      route("vip-completions", {"lms-*"}, {"talent.completion.recorded"}, {"sink-priority"});
  vip.subject_prefix = "person/vip-";
  r.push_back(vip);
  RouteConfig north = route("north-region", {"*"}, {"talent.enrollment.*"}, {"sink-north"});
  north.extensions = {{"region", "north"}};
  r.push_back(north);
  return r;
}

struct Publish {
  std::string from;
  simpang::v1::Event event;
};

simpang::v1::Event event(std::string type, std::string subject) {
  simpang::v1::Event e;
  e.set_id("evt-1");
  e.set_source("/simpang/bench");
  e.set_spec_version("1.0");
  e.set_type(std::move(type));
  e.set_subject(std::move(subject));
  return e;
}

// Events whose (from, type) only hits routes without subject or extension conditions.
std::vector<Publish> unconditional_hits() {
  return {
      {"lms-moodle", event("talent.completion.started", "person/1")},
      {"lms-moodle", event("talent.credential.issued", "person/2")},
      {"hr-scim", event("talent.employment.started", "person/3")},
      {"hr-scim", event("talent.person.updated", "person/4")},
      {"partner-acme", event("talent.organisation.partner.onboarded", "org/5")},
      {"lms-moodle", event("talent.course.published", "course/6")},
      {"lms-xapi", event("xapi.statement.completed", "person/7")},
      {"sim-1", event("sim.tick", "sim")},
  };
}

// Events that hit a conditional route, so subject and extensions are checked per event.
std::vector<Publish> conditional_hits() {
  std::vector<Publish> out = {
      {"lms-moodle", event("talent.completion.recorded", "person/vip-1")},
      {"lms-moodle", event("talent.completion.recorded", "person/8")},
      {"lms-xapi", event("talent.enrollment.created", "person/9")},
      {"hr-csv", event("talent.enrollment.withdrawn", "person/10")},
  };
  (*out[2].event.mutable_extensions())["region"].set_ce_string("north");
  (*out[3].event.mutable_extensions())["region"].set_ce_string("south");
  return out;
}

// Events no route takes.
std::vector<Publish> misses() {
  return {
      {"lms-moodle", event("lms.heartbeat", "lms")},
      {"hr-scim", event("hr.user.deleted", "person/1")},
      {"partner-acme", event("partner.acme.created", "org/1")},
      {"unknown-plugin", event("talent.completion.exported", "person/1")},
  };
}

std::unique_ptr<RouteTable> table() {
  StatusOr<std::unique_ptr<RouteTable>> t = RouteTable::compile(routes());
  if (!t.ok()) {
    std::abort();
  }
  return std::move(*t);
}

void run_match(benchmark::State& state, const std::vector<Publish>& publishes) {
  std::unique_ptr<RouteTable> t = table();
  std::vector<RouteTarget> out;
  out.reserve(16);
  size_t i = 0;
  size_t targets = 0;
  for (auto _ : state) {
    const Publish& p = publishes[i];
    i = i + 1 == publishes.size() ? 0 : i + 1;
    out.clear();
    t->match(p.from, p.event, out);
    targets += out.size();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["targets/event"] =
      benchmark::Counter(static_cast<double>(targets), benchmark::Counter::kAvgIterations);
}

void BM_MatchHitUnconditional(benchmark::State& state) { run_match(state, unconditional_hits()); }
BENCHMARK(BM_MatchHitUnconditional);

void BM_MatchHitConditional(benchmark::State& state) { run_match(state, conditional_hits()); }
BENCHMARK(BM_MatchHitConditional);

void BM_MatchMiss(benchmark::State& state) { run_match(state, misses()); }
BENCHMARK(BM_MatchMiss);

// The worst case: more distinct types than the cache holds, cycled, so every event misses the
// cache and pays the full pattern match plus an insertion (and, every 4096, a clear).
void BM_MatchCacheMiss(benchmark::State& state) {
  std::vector<Publish> publishes;
  for (int i = 0; i < 10000; ++i) {
    publishes.push_back({"lms-moodle", event("talent.t" + std::to_string(i) + ".recorded", "p/1")});
  }
  run_match(state, publishes);
}
BENCHMARK(BM_MatchCacheMiss);

// Baseline: the floor a cache hit costs, one heterogeneous hash lookup of the event type.
void BM_BaselineHashLookup(benchmark::State& state) {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  const std::vector<Publish> publishes = unconditional_hits();
  std::unordered_map<std::string, int, Hash, std::equal_to<>> map;
  for (const Publish& p : publishes) {
    map.emplace(p.event.type(), 1);
  }
  size_t i = 0;
  int found = 0;
  for (auto _ : state) {
    const Publish& p = publishes[i];
    i = i + 1 == publishes.size() ? 0 : i + 1;
    auto it = map.find(std::string_view(p.event.type()));
    found += it->second;
    benchmark::DoNotOptimize(found);
  }
}
BENCHMARK(BM_BaselineHashLookup);

// Baseline: what match would cost without its cache, the `from` globs and type patterns of all
// twenty routes evaluated per event (no subject, extension or dedup work: a lower bound).
void BM_BaselineUncachedPatterns(benchmark::State& state) {
  struct Compiled {
    std::vector<std::string> from;
    std::vector<TypePattern> types;
  };
  std::vector<Compiled> compiled;
  for (const RouteConfig& r : routes()) {
    Compiled c{r.from, {}};
    for (const std::string& type : r.types) {
      c.types.push_back(*TypePattern::compile(type));
    }
    compiled.push_back(std::move(c));
  }
  const std::vector<Publish> publishes = unconditional_hits();
  size_t i = 0;
  size_t matched = 0;
  for (auto _ : state) {
    const Publish& p = publishes[i];
    i = i + 1 == publishes.size() ? 0 : i + 1;
    for (const Compiled& c : compiled) {
      bool from = false;
      for (const std::string& glob : c.from) {
        from = from || instance_glob_matches(glob, p.from);
      }
      if (!from) {
        continue;
      }
      for (const TypePattern& type : c.types) {
        if (type.matches(p.event.type())) {
          ++matched;
          break;
        }
      }
    }
    benchmark::DoNotOptimize(matched);
  }
}
BENCHMARK(BM_BaselineUncachedPatterns);

}  // namespace
}  // namespace simpang::hub
