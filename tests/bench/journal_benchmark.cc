// The journal's durable throughput next to bare SQLite doing the least the same durability needs,
// in one binary so the figures read as ratios (see tests/bench/README.md on shared machines).
//
//   BareSqlite/full/dedup/ckpt: an events row (256-byte serialized event, its source and id) and
//     one deliveries row per event, prepared statements, 1,000 events per transaction, WAL, one
//     thread, SQLite's defaults otherwise. dedup 0: no de-duplication index; 1: a non-unique index
//     on a 64-bit hash of (source, id) probed before each insert; 2: the same with an index on
//     (source, id) itself. ckpt 1: checkpoints moved to a second thread the way the journal does
//     it (a stricter baseline: the same work, tuned like the journal).
//   JournalAppendAck/full/batch/ack: Journal::append of batches of <batch> events with one
//     delivery each, up to 8,192 events in flight (so group commit has work to group); with ack 1
//     each delivery is acked (Journal::update) from the submitting thread as soon as its append
//     completes, as the broker would once the destination settles; timed until the last ack is
//     committed. vs_bare: its events/s over BareSqlite/full/0/0's; vs_tuned_bare: over
//     BareSqlite/full/0/1's. Each baseline's best repetition is used, so the ratios are the
//     conservative ones.
//   cpu_us_per_event: CPU time of every thread of the process per event (the journal's include
//     the submitting thread's). Steadier than events/s on a shared machine.
//
//   build/bin/journal_benchmark --benchmark_repetitions=3
// full: 0 = synchronous NORMAL, 1 = FULL.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "journal/journal.h"
#include "journal/open_journal.h"
#include "simpang/v1/event.pb.h"
#include "test_support.h"

namespace simpang::hub {
namespace {

constexpr int kEventsPerTransaction = 1000;
constexpr size_t kBodySize = 256;

// The best events/s of BareSqlite/<full>/0/<ckpt> so far in this run, by (full, ckpt).
std::map<std::pair<int, int>, double>& bare_rates() {
  static std::map<std::pair<int, int>, double> rates;
  return rates;
}

// Checkpoints on a thread of their own, as the journal runs them (sqlite_journal.cc): passive after
// 1,000 WAL frames, RESTART after 4,096 so the WAL starts over.
class Checkpointer {
 public:
  Checkpointer(sqlite3* writer, const std::string& file) {
    sqlite3_open(file.c_str(), &db_);
    sqlite3_busy_timeout(db_, 60000);
    sqlite3_busy_timeout(writer, 60000);
    sqlite3_exec(db_, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
    sqlite3_exec(writer, "PRAGMA wal_autocheckpoint = 0", nullptr, nullptr, nullptr);
    sqlite3_wal_hook(writer, &Checkpointer::on_commit, this);
    thread_ = std::thread([this] { run(); });
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
    sqlite3_close(db_);
  }

 private:
  static int on_commit(void* self, sqlite3*, const char*, int frames) {
    auto* checkpointer = static_cast<Checkpointer*>(self);
    {
      std::lock_guard lock(checkpointer->mutex_);
      checkpointer->frames_ = frames;
    }
    if (frames >= 1000) {
      checkpointer->wake_.notify_one();
    }
    return SQLITE_OK;
  }
  void run() {
    for (;;) {
      int frames = 0;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stop_ || frames_ >= 1000; });
        if (stop_) {
          return;
        }
        frames = std::exchange(frames_, 0);
      }
      sqlite3_wal_checkpoint_v2(
          db_, nullptr, frames >= 4096 ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE,
          nullptr, nullptr);
    }
  }
  sqlite3* db_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  int frames_ = 0;
  bool stop_ = false;
};

std::shared_ptr<const std::string> body_of(int64_t n) {
  simpang::v1::Event event;
  event.set_id("evt-" + std::to_string(n));
  event.set_source("moodle://lms.example.edu/course/42");
  event.set_spec_version("1.0");
  event.set_type("talent.completion.recorded");
  event.set_subject("person-" + std::to_string(n % 50000));
  event.set_data_content_type("application/json");
  std::string text = R"({"course":"ai-101","score":)";
  while (event.ByteSizeLong() + text.size() + 2 < kBodySize) {
    text.push_back('9');
  }
  event.set_text_data(text + "}");
  return std::make_shared<const std::string>(event.SerializeAsString());
}

// CPU time of the whole process (every thread), in seconds: the work a run took, which unlike its
// wall time hardly moves when other jobs share the machine.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

const char* sync_name(int sync) { return sync == 1 ? "FULL" : "NORMAL"; }

void check(int rc, sqlite3* db, benchmark::State& state) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    state.SkipWithError(sqlite3_errmsg(db));
  }
}

uint64_t fnv1a(const std::string& source, const std::string& id) {
  uint64_t hash = 14695981039346656037ull;
  for (const char c : source + '\xff' + id) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

void BareSqlite(benchmark::State& state) {
  const int sync = static_cast<int>(state.range(0));
  const int dedup = static_cast<int>(state.range(1));
  const int ckpt = static_cast<int>(state.range(2));
  simpang::testing::TempDir dir;
  const auto file = dir / "bare.db";
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  std::string schema = std::string("PRAGMA journal_mode = WAL; PRAGMA synchronous = ") +
                       sync_name(sync) +
                       ";"
                       "CREATE TABLE events (seq INTEGER PRIMARY KEY, received_ms INTEGER, "
                       "dedup_key INTEGER, source TEXT, event_id TEXT, body BLOB);"
                       "CREATE TABLE deliveries (id INTEGER PRIMARY KEY, event_seq INTEGER, "
                       "destination INTEGER, route INTEGER, state INTEGER, attempts INTEGER, "
                       "not_before_ms INTEGER);";
  if (dedup == 1) {
    schema += "CREATE INDEX events_dedup ON events (dedup_key);";
  } else if (dedup == 2) {
    schema += "CREATE INDEX events_source_id ON events (source, event_id);";
  }
  check(sqlite3_exec(db, schema.c_str(), nullptr, nullptr, nullptr), db, state);
  std::unique_ptr<Checkpointer> checkpointer;
  if (ckpt != 0) {
    checkpointer = std::make_unique<Checkpointer>(db, file.string());
  }
  sqlite3_stmt* insert_event = nullptr;
  sqlite3_stmt* insert_delivery = nullptr;
  sqlite3_stmt* probe = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO events (seq, received_ms, dedup_key, source, event_id, body) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     -1, &insert_event, nullptr);
  sqlite3_prepare_v2(db,
                     "INSERT INTO deliveries (id, event_seq, destination, route, state, attempts, "
                     "not_before_ms) VALUES (?1, ?2, 1, 1, 0, 0, 0)",
                     -1, &insert_delivery, nullptr);
  sqlite3_prepare_v2(db,
                     dedup == 2
                         ? "SELECT received_ms FROM events WHERE source = ?1 AND event_id = ?2"
                         : "SELECT received_ms FROM events WHERE dedup_key = ?3",
                     -1, &probe, nullptr);
  // Bodies made up front: the baseline times SQLite alone.
  std::vector<std::shared_ptr<const std::string>> bodies;
  for (int i = 0; i < kEventsPerTransaction; ++i) {
    bodies.push_back(body_of(i));
  }
  const std::string source = "moodle://lms.example.edu/course/42";
  int64_t seq = 0;
  const double cpu_start = process_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, state);
    for (int i = 0; i < kEventsPerTransaction; ++i) {
      ++seq;
      const std::string id = "evt-" + std::to_string(seq);
      const auto key = static_cast<int64_t>(fnv1a(source, id));
      if (dedup != 0) {
        sqlite3_bind_text(probe, 1, source.data(), static_cast<int>(source.size()), SQLITE_STATIC);
        sqlite3_bind_text(probe, 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
        sqlite3_bind_int64(probe, 3, key);
        while (sqlite3_step(probe) == SQLITE_ROW) {
        }
        sqlite3_reset(probe);
      }
      const std::string& body = *bodies[static_cast<size_t>(i)];
      sqlite3_bind_int64(insert_event, 1, seq);
      sqlite3_bind_int64(insert_event, 2, 1'760'000'000'000 + seq);
      sqlite3_bind_int64(insert_event, 3, key);
      sqlite3_bind_text(insert_event, 4, source.data(), static_cast<int>(source.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(insert_event, 5, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_blob(insert_event, 6, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      check(sqlite3_step(insert_event), db, state);
      sqlite3_reset(insert_event);
      sqlite3_bind_int64(insert_delivery, 1, seq);
      sqlite3_bind_int64(insert_delivery, 2, seq);
      check(sqlite3_step(insert_delivery), db, state);
      sqlite3_reset(insert_delivery);
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, state);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = static_cast<double>(seq) / seconds;
  checkpointer.reset();
  if (dedup == 0) {
    double& best = bare_rates()[{sync, ckpt}];
    best = std::max(best, rate);
  }
  state.SetItemsProcessed(seq);
  state.counters["events_per_s"] = rate;
  state.counters["cpu_us_per_event"] = (process_cpu_seconds() - cpu_start) * 1e6 / seq;
  sqlite3_finalize(insert_event);
  sqlite3_finalize(insert_delivery);
  sqlite3_finalize(probe);
  sqlite3_close(db);
}

void JournalAppendAck(benchmark::State& state) {
  const int sync = static_cast<int>(state.range(0));
  const auto batch_size = static_cast<size_t>(state.range(1));
  const bool ack = state.range(2) != 0;
  constexpr int64_t kMaxInFlight = 8192;
  simpang::testing::TempDir dir;
  JournalOptions options;
  options.file = dir / "journal.db";
  options.sync = sync == 1 ? JournalSync::kFull : JournalSync::kNormal;
  auto opened = open_journal(options, {"ledger"}, {"all"});
  if (!opened.ok()) {
    state.SkipWithError(opened.status().message().c_str());
    return;
  }
  Journal& journal = **opened;
  journal.start({});

  std::vector<std::shared_ptr<const std::string>> bodies;
  for (int i = 0; i < kEventsPerTransaction; ++i) {
    bodies.push_back(body_of(i));
  }
  // The callbacks hand their delivery ids to this thread, which acks them (Journal::update), as
  // the broker's loop would: the writer thread does only the journal's own work.
  std::mutex mutex;
  std::condition_variable changed;
  int64_t in_flight = 0;             // GUARDED_BY(mutex): events appended, not yet completed
  std::vector<DeliveryUpdate> acks;  // GUARDED_BY(mutex): to submit
  std::atomic<bool> failed{false};
  auto send_acks = [&](std::unique_lock<std::mutex>& lock) {
    if (acks.empty()) {
      return;
    }
    std::vector<DeliveryUpdate> batch;
    batch.swap(acks);
    lock.unlock();
    journal.update(std::move(batch));
    lock.lock();
  };
  int64_t n = 0;
  const double cpu_start = process_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    for (int i = 0; i < kEventsPerTransaction; i += static_cast<int>(batch_size)) {
      AppendBatch batch;
      batch.publisher = "lms-moodle";
      for (size_t j = 0; j < batch_size; ++j) {
        ++n;
        batch.events.push_back(NewEvent{"moodle://lms.example.edu/course/42",
                                        "evt-" + std::to_string(n),
                                        bodies[static_cast<size_t>(n) % bodies.size()],
                                        {NewDelivery{0, 0}}});
      }
      {
        std::unique_lock lock(mutex);
        send_acks(lock);
        if (in_flight >= kMaxInFlight) {
          changed.wait(lock, [&] { return in_flight <= kMaxInFlight / 2; });
        }
        in_flight += static_cast<int64_t>(batch_size);
      }
      journal.append(std::move(batch), [&](StatusOr<std::vector<AppendedEvent>> result) {
        std::lock_guard lock(mutex);
        if (!result.ok()) {
          failed = true;
        } else if (ack) {
          for (const AppendedEvent& event : *result) {
            acks.push_back({event.delivery_ids.at(0), DeliveryUpdate::Kind::kAcked, 1, {}, ""});
          }
        }
        in_flight -= static_cast<int64_t>(batch_size);
        // Wake the submitter only when there is room for a good share of work (or at the end),
        // not once per callback: the broker's loop would not be woken per callback either.
        if (in_flight <= kMaxInFlight / 2) {
          changed.notify_one();
        }
      });
    }
  }
  // Until the last ack is durable: everything the journal was given has been written.
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return in_flight == 0; });
    send_acks(lock);
  }
  const bool drained = simpang::testing::wait_for(
      [&] { return !ack || journal.stats().updates >= static_cast<uint64_t>(n); },
      std::chrono::minutes(5));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_seconds = process_cpu_seconds() - cpu_start;
  if (failed || !drained) {
    state.SkipWithError("an append failed or the acks did not drain");
  }
  const JournalStats stats = journal.stats();
  journal.stop();
  const double rate = static_cast<double>(n) / seconds;
  state.SetItemsProcessed(n);
  state.counters["events_per_s"] = rate;
  state.counters["cpu_us_per_event"] = cpu_seconds * 1e6 / static_cast<double>(n);
  state.counters["events_per_commit"] =
      static_cast<double>(stats.appended + stats.updates) / static_cast<double>(stats.commits);
  if (bare_rates().count({sync, 0}) != 0) {
    state.counters["vs_bare"] = rate / bare_rates()[{sync, 0}];
  }
  if (bare_rates().count({sync, 1}) != 0) {
    state.counters["vs_tuned_bare"] = rate / bare_rates()[{sync, 1}];
  }
}

// Bare runs first: the journal's ratios use the rates they leave.
BENCHMARK(BareSqlite)
    ->ArgNames({"full", "dedup", "ckpt"})
    ->Args({0, 0, 0})
    ->Args({0, 1, 0})
    ->Args({0, 2, 0})
    ->Args({0, 0, 1})
    ->Args({1, 0, 0})
    ->Args({1, 1, 0})
    ->Args({1, 2, 0})
    ->Args({1, 0, 1})
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(JournalAppendAck)
    ->ArgNames({"full", "batch", "ack"})
    ->Args({0, 1, 1})
    ->Args({0, 16, 1})
    ->Args({0, 100, 1})
    ->Args({0, 16, 0})
    ->Args({1, 1, 1})
    ->Args({1, 16, 1})
    ->Args({1, 100, 1})
    ->Args({1, 16, 0})
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace simpang::hub
