// The SDK runtime: its lifecycle and loop, the socket and the frames from the hub, posted work and
// timers (publishing and delivery are in runtime_publish.cc and runtime_deliver.cc, the ABI thunks
// over it in runtime_abi.cc).
#include "runtime.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "simpang/version.h"

namespace simpang::sdk::internal {
namespace wire = simpang::v1::wire;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

// Consumers advertise this many deliveries of credit; each settled delivery returns one.
constexpr uint32_t kDefaultCreditWindow = 1024;
// A hub silent for this many heartbeat intervals is presumed gone; the runtime says hello again.
constexpr int kHubLivenessIntervals = 3;

// The arena incoming frames are parsed on: a first block that holds a full Deliver's messages
// (about 120 bytes per delivery at the hub's default of 512), so a reset frees nothing.
constexpr size_t kArenaInitialBlock = 128 * 1024;
constexpr size_t kArenaMaxBlock = 1024 * 1024;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + zmq_strerror(zmq_errno());
}

// 16 hex digits from std::random_device (the kernel's source on Linux).
std::string random_suffix() {
  std::random_device random;
  constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 4; ++i) {
    const uint32_t word = random();
    for (int shift = 0; shift < 16; shift += 4) {
      out += kDigits[(word >> shift) & 0x0F];
    }
  }
  return out;
}

}  // namespace

Runtime::Runtime(const simpang_host_api& host, simpang_plugin_kind kind, std::string plugin_name)
    : kind_(kind), plugin_name_(std::move(plugin_name)) {
  // Growth rule: copy what the host wrote into a zero-filled struct of our size.
  std::memcpy(&host_, &host, std::min<size_t>(host.struct_size, sizeof(host_)));
  instance_name_ = host_.instance_name ? host_.instance_name : plugin_name_;
  hub_token_ = host_.hub_token ? host_.hub_token : "";
  endpoint_ = host_.hub_endpoint ? host_.hub_endpoint : "";
  state_dir_ = host_.state_dir ? host_.state_dir : ".";
  if (host_.heartbeat_ms > 0) {
    heartbeat_ = milliseconds(host_.heartbeat_ms);
  }
  credit_window_ = kDefaultCreditWindow;
  finished_future_ = finished_.get_future();
  arena_block_ = std::make_unique<char[]>(kArenaInitialBlock);
  google::protobuf::ArenaOptions options;
  options.initial_block = arena_block_.get();
  options.initial_block_size = kArenaInitialBlock;
  options.max_block_size = kArenaMaxBlock;
  arena_ = std::make_unique<google::protobuf::Arena>(options);
  start_current_batch(0);
  // Made here, not in start(): a plugin's own threads may post() from its constructor on.
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  }
}

Runtime::~Runtime() {
  if (thread_.joinable()) {
    stop_requested_ = true;
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  // Closed before the plugin goes (if the runtime thread never ran, it did not close it): what
  // its destructor posts while it joins its own threads is dropped, on a live queue.
  close_posted();
  plugin_.reset();
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
  }
}

Status Runtime::construct(PluginFactory factory) {
  const char* json_text = host_.config_json ? host_.config_json : "{}";
  try {
    config_ = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    return Status::Error(std::string("instance config is not valid JSON: ") + e.what());
  }
  if (!config_.is_object()) {
    return Status::Error("instance config must be a mapping");
  }
  try {
    plugin_ = factory(*this);
  } catch (const ConfigError& e) {
    return Status::Error(std::string("invalid config: ") + e.what());
  } catch (const std::exception& e) {
    return Status::Error(std::string("plugin constructor failed: ") + e.what());
  } catch (...) {
    return Status::Error("plugin constructor threw a non-standard exception");
  }
  consumer_ = dynamic_cast<Consumer*>(plugin_.get());
  if ((kind_ != SIMPANG_KIND_SOURCE) != (consumer_ != nullptr)) {
    return Status::Error("plugin class kind does not match its declared kind");
  }
  return Status::Ok();
}

Status Runtime::start() {
  if (endpoint_.empty() || host_.zmq_context == nullptr) {
    return Status::Error("host gave no hub endpoint or ZeroMQ context");
  }
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::exception& e) {
    return Status::Error(std::string("cannot start runtime thread: ") + e.what());
  }
  return Status::Ok();
}

simpang_stop_result Runtime::stop(milliseconds deadline) {
  if (!thread_.joinable()) {
    return SIMPANG_STOP_CLEAN;
  }
  stop_deadline_ = Clock::now() + deadline;  // read by the runtime thread after the wake below
  stop_requested_.store(true, std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  // A little grace beyond the deadline for the thread to notice it and close its socket.
  if (finished_future_.wait_for(deadline + milliseconds(250)) != std::future_status::ready) {
    set_last_error("did not stop within " + std::to_string(deadline.count()) + " ms");
    return SIMPANG_STOP_STILL_RUNNING;
  }
  thread_.join();
  std::lock_guard lock(error_mutex_);
  return last_error_.empty() ? SIMPANG_STOP_CLEAN : SIMPANG_STOP_INCOMPLETE;
}

void Runtime::set_last_error(std::string message) {
  std::lock_guard lock(error_mutex_);
  last_error_ = std::move(message);
}

const char* Runtime::last_error() {
  std::lock_guard lock(error_mutex_);
  if (last_error_.empty()) {
    return nullptr;
  }
  last_error_out_ = last_error_;
  return last_error_out_.c_str();
}

void Runtime::log(LogLevel level, std::string_view message) {
  if (host_.log != nullptr) {
    host_.log(host_.host_data, static_cast<simpang_log_level>(level), message.data(),
              message.size());
  }
}

// ---- Context: posted work and timers -----------------------------------------------------------

void Runtime::post(std::function<void()> work) {
  std::unique_lock lock(post_mutex_);
  if (post_closed_) {
    lock.unlock();
    return;  // dropped: `work` is destroyed here, outside the lock, without running
  }
  const bool was_empty = posted_.empty();
  posted_.push_back(std::move(work));
  lock.unlock();
  // One wake-up per batch of posts: the loop takes the whole queue each time it wakes.
  if (was_empty) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  }
}

void Runtime::run_posted() {
  if (!plugin_started_) {
    return;  // posted work starts with on_start
  }
  std::deque<std::function<void()>> work;
  {
    std::lock_guard lock(post_mutex_);
    work.swap(posted_);
  }
  // What this work posts runs on the next pass (the eventfd is written again, so that is soon).
  for (auto& item : work) {
    try {
      item();
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string("posted work threw: ") + e.what());
    } catch (...) {
      log(LogLevel::kError, "posted work threw a non-standard exception");
    }
  }
}

void Runtime::close_posted() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(post_mutex_);
    post_closed_ = true;
    dropped.swap(posted_);
  }
  // Destroyed here, outside the lock: a captured object's destructor may post (and be dropped).
}

TimerId Runtime::schedule(milliseconds delay, milliseconds interval,
                          std::function<void()> callback) {
  return timers_.add(Clock::now() + delay, interval, std::move(callback));
}

TimerId Runtime::every(milliseconds interval, std::function<void()> callback) {
  return schedule(interval, std::max(interval, milliseconds(1)), std::move(callback));
}

TimerId Runtime::after(milliseconds delay, std::function<void()> callback) {
  return schedule(delay, milliseconds(0), std::move(callback));
}

void Runtime::cancel(TimerId id) { timers_.cancel(id); }

void Runtime::run_due_timers() {
  if (!plugin_started_ || !connected_ || stopping_ || backpressured()) {
    return;
  }
  const auto now = Clock::now();
  while (!backpressured()) {
    auto fired = timers_.pop_due(now, now);
    if (!fired) {
      break;
    }
    try {
      fired->callback();
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string("scheduled callback threw: ") + e.what());
    }
  }
}

// ---- The runtime thread -------------------------------------------------------------------------

void Runtime::run() {
  try {
    open_socket();
    run_loop();
  } catch (const std::exception& e) {
    set_last_error(e.what());
    log(LogLevel::kError, std::string("runtime stopped: ") + e.what());
  }
  close_socket(milliseconds(0));
  connected_ = false;  // what a last callback publishes stays unsent: the socket is gone
  // Whatever the way out: every group gets its answer, and nothing posted runs any more.
  time_out_all_groups("the instance stopped before the hub answered for the group");
  close_posted();
  finished_.set_value();
}

void Runtime::set_curve_client(std::string server_public_key, std::string public_key,
                               std::string secret_key) {
  curve_server_key_ = std::move(server_public_key);
  curve_public_key_ = std::move(public_key);
  curve_secret_key_ = std::move(secret_key);
}

void Runtime::open_socket() {
  socket_ = zmq_socket(host_.zmq_context, ZMQ_DEALER);
  if (socket_ == nullptr) {
    throw std::runtime_error(errno_text("zmq_socket"));
  }
  if (!curve_server_key_.empty()) {
    // Z85 keys are given with their terminating NUL (41 bytes), as zmq_setsockopt wants them.
    const std::pair<int, const std::string*> keys[] = {{ZMQ_CURVE_SERVERKEY, &curve_server_key_},
                                                       {ZMQ_CURVE_PUBLICKEY, &curve_public_key_},
                                                       {ZMQ_CURVE_SECRETKEY, &curve_secret_key_}};
    for (const auto& [option, key] : keys) {
      if (zmq_setsockopt(socket_, option, key->c_str(), key->size() + 1) != 0) {
        throw std::runtime_error(errno_text("setting a CURVE key"));
      }
    }
  }
  // A routing id of our own, random, so it never collides with another connection's (the hub
  // ignores a connection presenting one already in use) and a reconnect of this socket keeps it.
  // It identifies nothing: the hub knows the instance by the token in the Hello. The name in front
  // is for people reading the hub's log.
  const std::string routing_id = instance_name_ + "#" + random_suffix();
  zmq_setsockopt(socket_, ZMQ_ROUTING_ID, routing_id.data(), routing_id.size());
  int linger = 0;  // shutdown waits for acks explicitly; nothing unacknowledged is left to linger
  zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof(linger));
  int hwm = 10000;  // frames are batches; the window and credits bound what is queued
  zmq_setsockopt(socket_, ZMQ_SNDHWM, &hwm, sizeof(hwm));
  zmq_setsockopt(socket_, ZMQ_RCVHWM, &hwm, sizeof(hwm));
  int reconnect_ms = 100;
  zmq_setsockopt(socket_, ZMQ_RECONNECT_IVL, &reconnect_ms, sizeof(reconnect_ms));
  int reconnect_max_ms = 2000;
  zmq_setsockopt(socket_, ZMQ_RECONNECT_IVL_MAX, &reconnect_max_ms, sizeof(reconnect_max_ms));
  if (zmq_connect(socket_, endpoint_.c_str()) != 0) {
    throw std::runtime_error(errno_text(("connect to " + endpoint_).c_str()));
  }
}

void Runtime::close_socket(milliseconds linger) {
  if (socket_ == nullptr) {
    return;
  }
  int value = static_cast<int>(linger.count());
  zmq_setsockopt(socket_, ZMQ_LINGER, &value, sizeof(value));
  zmq_close(socket_);
  socket_ = nullptr;
}

void Runtime::send_bytes(const char* data, size_t size) {
  // Blocking send: the high-water mark is far above what the window and credits let through, so a
  // block here means the hub is gone; the liveness check below then takes over.
  while (zmq_send(socket_, data, size, 0) < 0) {
    if (zmq_errno() != EINTR) {
      throw std::runtime_error(errno_text("zmq_send"));
    }
  }
  last_sent_ = Clock::now();
}

void Runtime::send_frame(const wire::Frame& frame) {
  frame.SerializeToString(&out_bytes_);
  send_bytes(out_bytes_.data(), out_bytes_.size());
}

void Runtime::send_hello() {
  wire::Frame frame;
  auto* hello = frame.mutable_hello();
  hello->set_instance(instance_name_);
  hello->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  hello->set_abi_major(SIMPANG_ABI_MAJOR);
  hello->set_abi_minor(SIMPANG_ABI_MINOR);
  hello->set_consumes(kind_ != SIMPANG_KIND_SOURCE);
  hello->set_produces(kind_ != SIMPANG_KIND_SINK);
  hello->set_plugin(plugin_name_);
  hello->set_heartbeat_ms(static_cast<uint32_t>(heartbeat_.count()));
  hello->set_token(hub_token_);
  send_frame(frame);
  hello_sent_ = Clock::now();
  connected_ = false;
  // The hub forgets this instance's unsettled deliveries when it hears a hello, and delivers them
  // again: their handles must not settle anything from now on.
  forget_pending("said hello to the hub again");
}

void Runtime::handle_welcome(const wire::Welcome& welcome) {
  if (welcome.protocol_version() != SIMPANG_WIRE_PROTOCOL_VERSION) {
    throw std::runtime_error("hub speaks wire protocol " +
                             std::to_string(welcome.protocol_version()) + ", this plugin " +
                             std::to_string(SIMPANG_WIRE_PROTOCOL_VERSION));
  }
  // A refusal before this welcome (the hub had restarted, or forgot us) is resolved now; it must
  // not make a later stop look unclean.
  set_last_error({});
  if (welcome.heartbeat_ms() > 0) {
    heartbeat_ = milliseconds(welcome.heartbeat_ms());
  }
  if (welcome.max_batch() > 0) {
    max_batch_ = welcome.max_batch();
  }
  if (welcome.max_unacked() > 0) {
    max_unacked_ = welcome.max_unacked();
  }
  // The hub's limits, so what it would refuse is refused here, where the plugin can see why.
  if (welcome.max_event_bytes() > 0) {
    limits_.max_event_bytes = welcome.max_event_bytes();
  }
  if (welcome.max_frame_bytes() > 0) {
    max_frame_bytes_ = welcome.max_frame_bytes();
  }
  if (welcome.max_attributes() > 0) {
    limits_.max_attributes = welcome.max_attributes();
  }
  if (welcome.max_attribute_bytes() > 0) {
    limits_.max_attribute_bytes = welcome.max_attribute_bytes();
  }
  if (welcome.max_json_depth() > 0) {
    limits_.max_json_depth = welcome.max_json_depth();
  }
  if (!plugin_started_) {
    // The hub's stored cursors are the truth only before we publish; afterwards ours are newer.
    for (const auto& [key, value] : welcome.cursors()) {
      cursors_[key] = value;
    }
  }
  connected_ = true;
  // After a reconnect the hub knows nothing of what we had outstanding: resend every batch it had
  // not acknowledged, in order, ahead of the new ones (duplicates carry the same event ids).
  for (auto it = unacked_.rbegin(); it != unacked_.rend(); ++it) {
    unsent_.push_front(std::move(it->second));
  }
  unacked_.clear();
  grant_credit(credit_window_);
  if (!plugin_started_ && !stopping_) {
    plugin_started_ = true;
    try {
      plugin_->on_start(*this);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("on_start failed: ") + e.what());
    }
  }
  send_ready_batches();
}

void Runtime::handle_frame(const wire::Frame& frame) {
  switch (frame.body_case()) {
    case wire::Frame::kWelcome:
      handle_welcome(frame.welcome());
      break;
    case wire::Frame::kRefused:
      // The hub does not (yet) know this instance; it may after a reload. Try again later.
      log(LogLevel::kError, "hub refused this instance: " + frame.refused().reason());
      set_last_error("hub refused this instance: " + frame.refused().reason());
      if (frame.refused().protocol_version() != 0 &&
          frame.refused().protocol_version() != SIMPANG_WIRE_PROTOCOL_VERSION) {
        log(LogLevel::kError, "the hub speaks wire protocol " +
                                  std::to_string(frame.refused().protocol_version()) +
                                  ", this plugin " + std::to_string(SIMPANG_WIRE_PROTOCOL_VERSION));
      }
      connected_ = false;
      break;
    case wire::Frame::kPublishAck:
      handle_batch_result(frame.publish_ack().batch(), nullptr);
      break;
    case wire::Frame::kPublishReject:
      handle_batch_result(frame.publish_reject().batch(), &frame.publish_reject());
      break;
    case wire::Frame::kDeliver:
      if (consumer_ != nullptr) {
        handle_deliver(frame.deliver());
      }
      break;
    case wire::Frame::kHeartbeat:
      break;
    case wire::Frame::kBye:
      // The hub is shutting down or restarting: say hello again when it comes back.
      log(LogLevel::kInfo, "hub said goodbye: " + frame.bye().reason());
      connected_ = false;
      break;
    default:
      log(LogLevel::kWarn, "ignoring unexpected frame from the hub");
      break;
  }
}

void Runtime::drain_socket() {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (true) {
    int n = zmq_msg_recv(&msg, socket_, ZMQ_DONTWAIT);
    if (n < 0) {
      if (zmq_errno() == EAGAIN) {
        break;
      }
      if (zmq_errno() == EINTR) {
        continue;
      }
      zmq_msg_close(&msg);
      throw std::runtime_error(errno_text("zmq_msg_recv"));
    }
    last_heard_ = Clock::now();
    handle_message(zmq_msg_data(&msg), zmq_msg_size(&msg));
  }
  zmq_msg_close(&msg);
}

void Runtime::handle_message(const void* data, size_t size) {
  // Everything parsed from the previous message is gone by now: free it in one go.
  arena_->Reset();
  auto* frame = google::protobuf::Arena::CreateMessage<wire::Frame>(arena_.get());
  if (!frame->ParseFromArray(data, static_cast<int>(size))) {
    log(LogLevel::kWarn, "ignoring a malformed frame from the hub");
    return;
  }
  handle_frame(*frame);
}

int Runtime::poll_timeout_ms() const {
  const auto now = Clock::now();
  auto next = now + heartbeat_;
  if (!connected_) {
    next = std::min(next, hello_sent_ + heartbeat_);
  } else {
    next = std::min(next, last_sent_ + heartbeat_);
    next = std::min(next, last_heard_ + heartbeat_ * kHubLivenessIntervals);
    if (!unsent_.empty() && resend_after_ > now) {
      next = std::min(next, resend_after_);
    }
  }
  if (plugin_started_ && connected_ && !stopping_ && !backpressured()) {
    if (auto due = timers_.next_due()) {
      next = std::min(next, *due);
    }
  }
  if (auto due = deadlines_.next_due()) {
    next = std::min(next, *due);
  }
  if (stopping_) {
    next = std::min(next, stop_deadline_);
  }
  auto wait = duration_cast<milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<long long>(wait + 1, 0, 60000));
}

void Runtime::begin_stop() {
  stopping_ = true;
  if (plugin_started_) {
    try {
      plugin_->on_stop(*this);
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string("on_stop threw: ") + e.what());
    }
  }
  seal_current_batch();
}

void Runtime::run_loop() {
  last_heard_ = Clock::now();
  send_hello();
  zmq_pollitem_t items[2] = {{socket_, 0, ZMQ_POLLIN, 0}, {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
  while (true) {
    // Posted work first: what was handed over before a stop request runs before on_stop.
    run_posted();
    run_due_deadlines();
    if (stop_requested_.load(std::memory_order_acquire) && !stopping_) {
      begin_stop();
    }
    flush_settlements();
    if (stopping_) {
      // Done once everything we published is acknowledged, every held settlement went out and no
      // delivery is pending.
      const bool published = unsent_.empty() && unacked_.empty() && current_events_ == 0;
      const bool drained = published && pending_.empty();
      if (drained || Clock::now() >= stop_deadline_) {
        if (!published) {
          set_last_error("stopped with " + std::to_string(unsent_.size() + unacked_.size()) +
                         " publish batches not acknowledged by the hub");
        } else if (!drained) {
          set_last_error("stopped with " + std::to_string(pending_.size()) +
                         " deliveries still pending (the hub delivers them again)");
        }
        // Answered now, while the plugin can still hear it, before the goodbye.
        time_out_all_groups("the instance stopped before the hub answered for the group");
        if (metrics_dirty_) {
          send_frame(metrics_);  // the last values, so the hub's final summary has them
        }
        wire::Frame bye;
        bye.mutable_bye()->set_reason("instance stopping");
        send_frame(bye);
        const auto left = duration_cast<milliseconds>(stop_deadline_ - Clock::now());
        close_socket(std::clamp(left, milliseconds(0), milliseconds(500)));
        return;
      }
    }

    // What the posted work and deadlines above published goes out before the poll, which may
    // sleep until the next heartbeat: a publish from posted work (how an HTTP endpoint publishes)
    // would otherwise wait up to a second for its batch to leave.
    if (connected_) {
      seal_current_batch();
      send_ready_batches();
    }
    if (zmq_poll(items, 2, poll_timeout_ms()) < 0) {
      if (zmq_errno() == EINTR) {
        continue;
      }
      throw std::runtime_error(errno_text("zmq_poll"));
    }
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t value;
      [[maybe_unused]] auto n = ::read(wake_fd_, &value, sizeof(value));
    }
    drain_socket();

    const auto now = Clock::now();
    if (connected_) {
      if (now - last_heard_ > heartbeat_ * kHubLivenessIntervals) {
        log(LogLevel::kWarn,
            "no word from the hub for " +
                std::to_string(duration_cast<milliseconds>(now - last_heard_).count()) +
                " ms; saying hello again");
        last_heard_ = now;
        send_hello();
      }
    } else if (now - hello_sent_ >= heartbeat_) {
      send_hello();
    }

    run_due_timers();
    run_due_deadlines();
    flush_settlements();
    if (connected_) {
      seal_current_batch();
      send_ready_batches();
      if (metrics_dirty_ && Clock::now() - metrics_sent_ >= heartbeat_) {
        metrics_dirty_ = false;
        metrics_sent_ = Clock::now();
        send_frame(metrics_);
      }
      if (Clock::now() - last_sent_ >= heartbeat_) {
        wire::Frame heartbeat;
        heartbeat.mutable_heartbeat();
        send_frame(heartbeat);
      }
    }
  }
}

}  // namespace simpang::sdk::internal
