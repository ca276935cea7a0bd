// The SDK runtime: what runs inside every plugin instance. It owns the instance's DEALER socket and
// its one thread, speaks the wire protocol (sdk/proto/simpang/v1/wire.proto) with the hub, and calls
// the plugin object's callbacks on that thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <google/protobuf/arena.h>

#include "simpang/sdk/plugin.h"
#include "simpang/v1/wire.pb.h"

namespace simpang::sdk::internal {

class Runtime final : public Context {
 public:
  using Clock = std::chrono::steady_clock;

  // Copies what it needs from `host` (per the ABI's growth rule).
  Runtime(const simpang_host_api& host, simpang_plugin_kind kind, std::string plugin_name);
  ~Runtime() override;

  // Constructs the plugin object on the calling thread. Returns the error a constructor threw.
  Status construct(PluginFactory factory);
  // Starts the runtime thread.
  Status start();
  // Asks the runtime thread to finish and waits for it up to `deadline` (then it is still running,
  // and the destructor waits for it).
  simpang_stop_result stop(std::chrono::milliseconds deadline);

  void set_last_error(std::string message);
  const char* last_error();

  // Context.
  const std::string& instance_name() const override { return instance_name_; }
  const nlohmann::json& config() const override { return config_; }
  const std::filesystem::path& state_dir() const override { return state_dir_; }
  void log(LogLevel level, std::string_view message) override;
  Status emit(simpang::v1::Event event) override;
  bool backpressured() const override;
  std::optional<std::string> cursor(const std::string& key) const override;
  void set_cursor(const std::string& key, std::string value) override;
  void count(std::string_view name, double delta) override;
  void gauge(std::string_view name, double value) override;
  TimerId every(std::chrono::milliseconds interval, std::function<void()> callback) override;
  TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) override;
  void cancel(TimerId id) override;

 private:
  // A Publish batch from when it is sealed until the hub acknowledges it.
  struct Batch {
    uint64_t id = 0;
    // The serialized Frame, kept to resend after a reconnect: wire[wire_offset..]. The Frame is
    // encoded in place behind room reserved at the front while it was filled (see emit()).
    std::string wire;
    size_t wire_offset = 0;
    size_t events = 0;
    // Settlements of deliveries whose outputs (emitted by a Transform) are in this batch: sent when
    // the hub acknowledges it, so an input is never acked before its outputs are safe.
    std::vector<simpang::v1::wire::Settlement> settle_after;
  };
  struct Timer {
    std::chrono::milliseconds interval{0};  // 0 for a one-shot
    std::function<void()> callback;
  };

  void run();
  void run_loop();
  void open_socket();
  void close_socket(std::chrono::milliseconds linger);
  void send_hello();
  void send_frame(const simpang::v1::wire::Frame& frame);
  void send_bytes(const char* data, size_t size);
  void drain_socket();
  void handle_message(const void* data, size_t size);
  void handle_frame(const simpang::v1::wire::Frame& frame);
  void handle_welcome(const simpang::v1::wire::Welcome& welcome);
  void handle_deliver(const simpang::v1::wire::Deliver& deliver);
  void handle_batch_result(uint64_t batch, const simpang::v1::wire::PublishReject* reject);
  void seal_current_batch();
  void send_ready_batches();
  void send_settlements(std::vector<simpang::v1::wire::Settlement> settlements);
  void start_current_batch(size_t last_size);
  void grant_credit(uint32_t credit);
  void run_due_timers();
  void begin_stop();
  int poll_timeout_ms() const;
  TimerId schedule(std::chrono::milliseconds delay, std::chrono::milliseconds interval,
                   std::function<void()> callback);

  // Fixed at construction.
  simpang_host_api host_{};
  simpang_plugin_kind kind_;
  std::string plugin_name_;
  std::string instance_name_;
  std::string endpoint_;
  std::filesystem::path state_dir_;
  nlohmann::json config_;
  std::chrono::milliseconds heartbeat_{1000};

  std::unique_ptr<PluginBase> plugin_;
  Consumer* consumer_ = nullptr;  // plugin_ as a Consumer, for sinks and transforms

  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: stop() wakes the runtime thread through it
  std::atomic<bool> stop_requested_{false};
  std::promise<void> finished_;
  std::future<void> finished_future_;

  std::mutex error_mutex_;
  std::string last_error_;      // GUARDED_BY(error_mutex_)
  std::string last_error_out_;  // what last_error() handed out; valid until the next call

  // Everything below belongs to the runtime thread.
  void* socket_ = nullptr;
  bool connected_ = false;  // welcomed by the hub, and heard from recently
  bool stopping_ = false;   // stop was requested; finishing what is outstanding
  bool plugin_started_ = false;
  Clock::time_point last_sent_{};
  Clock::time_point last_heard_{};
  Clock::time_point hello_sent_{};
  Clock::time_point stop_deadline_{};
  uint32_t max_batch_ = 512;
  uint32_t max_unacked_ = 8;
  uint32_t credit_window_ = 1024;
  uint64_t next_batch_id_ = 1;
  // The Publish being filled by emit(): each event is appended as its encoded `events` field as it
  // is emitted, behind room reserved for the Frame's and the Publish's headers, which
  // seal_current_batch() writes once the length is known. The cursors to store with it wait in
  // current_cursors_ (a Publish holding only cursors), appended at seal.
  std::string current_wire_;
  simpang::v1::wire::Publish current_cursors_;
  size_t current_events_ = 0;
  std::deque<Batch> unsent_;
  std::map<uint64_t, Batch> unacked_;
  std::map<std::string, std::string> cursors_;  // latest known value of every cursor
  simpang::v1::wire::Frame metrics_;             // counters and gauges, sent when dirty
  bool metrics_dirty_ = false;
  Clock::time_point metrics_sent_{};
  bool cursors_staged_ = false;                  // current_ carries cursors not yet sealed
  Clock::time_point resend_after_{};             // the hub asked us to publish again later
  bool in_deliver_ = false;
  bool emitted_in_deliver_ = false;
  // Incoming frames and the events they deliver are parsed on this arena, reset per message, so
  // a Deliver's messages and strings cost no malloc/free each. Its first block is ours and kept
  // across resets.
  std::unique_ptr<char[]> arena_block_;
  std::unique_ptr<google::protobuf::Arena> arena_;
  // Reused for every outgoing frame but a sealed batch (which keeps its own bytes), and the Settle
  // frame kept as such so its Settlement objects are reused too.
  std::string out_bytes_;
  simpang::v1::wire::Frame settle_frame_;

  TimerId next_timer_id_ = 1;
  std::multimap<Clock::time_point, TimerId> timer_queue_;
  std::unordered_map<TimerId, Timer> timers_;
};

}  // namespace simpang::sdk::internal
