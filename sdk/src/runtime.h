// The SDK runtime: what runs inside every plugin instance. It owns the instance's DEALER socket and
// its one thread, speaks the wire protocol (sdk/proto/simpang/v1/wire.proto) with the hub, and calls
// the plugin object's callbacks on that thread.
//
// Its code is in files by concern: runtime.cc (lifecycle, the loop, the socket, frames from the
// hub, posted work, timers), runtime_publish.cc (emit, publish with completion, batches and their
// acks, cursors, metrics), runtime_deliver.cc (deliveries, synchronous and pending settlement,
// credit) and runtime_abi.cc (the ABI thunks).
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

#include "simpang/base/event_rules.h"
#include "timer_queue.h"

#include "simpang/sdk/plugin.h"
#include "simpang/v1/wire.pb.h"

namespace simpang::sdk::internal {

class Runtime final : public Context {
 public:
  using Clock = std::chrono::steady_clock;

  // Copies what it needs from `host` (per the ABI's growth rule). Throws std::runtime_error when
  // it cannot create its wake-up eventfd.
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

  // Makes the socket a CurveZMQ client with these keys (Z85, 40 characters each), for a partner's
  // program connecting to the hub's partner door over tcp. REQUIRES: before start().
  void set_curve_client(std::string server_public_key, std::string public_key,
                        std::string secret_key);
  const char* last_error();

  // Context.
  const std::string& instance_name() const override { return instance_name_; }
  const nlohmann::json& config() const override { return config_; }
  const std::filesystem::path& state_dir() const override { return state_dir_; }
  void log(LogLevel level, std::string_view message) override;
  void post(std::function<void()> work) override;
  Status emit(simpang::v1::Event event) override;
  Status publish(std::vector<simpang::v1::Event> events, std::chrono::milliseconds deadline,
                 PublishCallback done) override;
  PendingDelivery defer() override;
  bool settle(const PendingDelivery& delivery, Outcome outcome) override;
  void set_delivery_window(uint32_t deliveries) override;
  bool backpressured() const override;
  std::optional<std::string> cursor(const std::string& key) const override;
  void set_cursor(const std::string& key, std::string value) override;
  void count(std::string_view name, double delta) override;
  void gauge(std::string_view name, double value) override;
  TimerId every(std::chrono::milliseconds interval, std::function<void()> callback) override;
  TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) override;
  void cancel(TimerId id) override;

 private:
  // A run of `count` events of group `group`: events [first_in_batch, +count) of a batch are
  // events [first_in_group, +count) of the group.
  struct GroupSpan {
    uint64_t group = 0;
    uint32_t first_in_batch = 0;
    uint32_t count = 0;
    size_t first_in_group = 0;
  };
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
    // The events of this batch that belong to publish() groups, as runs; empty for a batch of
    // emit()s only, so the fire-and-forget path pays nothing for groups.
    std::vector<GroupSpan> groups;
  };
  // A publish() group until it is answered for or timed out.
  struct Group {
    PublishCallback done;
    size_t unanswered = 0;  // events the hub has not answered for yet
    std::vector<EventRejection> rejections;
    TimerId deadline = 0;  // in deadlines_
    std::chrono::milliseconds timeout{0};
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
  // Counts the hub's answer for the group runs of `batch` (its rejections, if any); appends the
  // groups now answered for in full to `completed`, taken out of groups_ with their deadlines
  // cancelled. Logs the rejections of events that belong to no group, as emit() always has.
  void answer_groups(const Batch& batch, const simpang::v1::wire::PublishReject* reject,
                     std::vector<Group>& completed);
  // Calls a group's callback (an exception escaping it is logged).
  void complete_group(Group& group, const PublishResult& result);
  void time_out_group(uint64_t group);
  void time_out_all_groups(const std::string& why);
  // Appends `event` (checked, spec_version filled) to the batch being filled as its encoded
  // Publish.events element.
  void append_event(const simpang::v1::Event& event, size_t size);
  // Seals the batch being filled when an event of `size` bytes would take it over the frame limit.
  void make_room(size_t size);
  void run_posted();
  void close_posted();
  void flush_settlements();
  void run_due_deadlines();
  void forget_pending(const char* why);
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
  std::string hub_token_;  // a secret: in the Hello, never in a log
  // CurveZMQ client keys (Z85), empty unless set_curve_client(); the secret is never logged.
  std::string curve_server_key_;
  std::string curve_public_key_;
  std::string curve_secret_key_;
  std::filesystem::path state_dir_;
  nlohmann::json config_;
  std::chrono::milliseconds heartbeat_{1000};

  std::unique_ptr<PluginBase> plugin_;
  Consumer* consumer_ = nullptr;  // plugin_ as a Consumer, for sinks and transforms

  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: stop() and post() wake the runtime thread through it
  std::atomic<bool> stop_requested_{false};
  std::promise<void> finished_;
  std::future<void> finished_future_;

  // Work handed over by post(), from any thread.
  std::mutex post_mutex_;
  std::deque<std::function<void()>> posted_;  // GUARDED_BY(post_mutex_)
  bool post_closed_ = false;                  // GUARDED_BY(post_mutex_): the runtime finished

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
  // The hub's limits, as its Welcome announced them (the defaults until then): emit() and
  // publish() refuse what the hub would, and a batch is sealed before it outgrows a frame.
  EventLimits limits_;
  uint32_t max_frame_bytes_ = 16 * 1024 * 1024;
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

  // The plugin's every()/after() callbacks, and (apart, since they fire whatever the connection
  // or back-pressure) the deadlines of publish() groups.
  TimerQueue<Clock::time_point> timers_;
  TimerQueue<Clock::time_point> deadlines_;

  // publish() groups not yet answered for, and the runs of the batch being filled.
  uint64_t next_group_ = 1;
  std::unordered_map<uint64_t, Group> groups_;
  std::vector<GroupSpan> current_groups_;
  // Settlements of a Transform's pending deliveries settled while the batch being filled holds
  // events (its outputs, maybe): they go with that batch when it is sealed.
  std::vector<simpang::v1::wire::Settlement> current_settle_after_;

  // Pending deliveries of the current connection: handle token -> the hub's delivery id. Cleared
  // whenever the runtime says hello again (the hub then delivers them again), so a stale handle
  // finds nothing.
  std::unordered_map<uint64_t, uint64_t> pending_;
  uint64_t next_token_ = 1;
  uint64_t delivering_id_ = 0;    // the delivery on_event is handling, inside handle_deliver()
  uint64_t deferred_token_ = 0;   // what defer() handed out for it; 0 if not called
  // Settled asynchronously, sent together at the end of the loop's pass.
  std::vector<simpang::v1::wire::Settlement> ready_settlements_;
};

}  // namespace simpang::sdk::internal
