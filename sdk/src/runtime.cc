// The SDK runtime: the wire protocol from the plugin's side, and the ABI thunks over it.
#include "runtime.h"

#include "event_checks.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

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

// Encoding of a Publish Frame by hand (see emit() and seal_current_batch()): the tags of
// Frame.publish (field 4), Publish.batch (field 1) and Publish.events (field 2).
constexpr uint8_t kFramePublishTag = (4 << 3) | 2;   // length-delimited
constexpr uint8_t kPublishBatchTag = (1 << 3) | 0;   // varint
constexpr uint8_t kPublishEventsTag = (2 << 3) | 2;  // length-delimited
// Room for the most the Frame tag + Publish length + batch tag + batch id can take.
constexpr size_t kPublishHeaderRoom = 1 + 5 + 1 + 10;

// The arena incoming frames are parsed on: a first block that holds a full Deliver's messages
// (about 120 bytes per delivery at the hub's default of 512), so a reset frees nothing.
constexpr size_t kArenaInitialBlock = 128 * 1024;
constexpr size_t kArenaMaxBlock = 1024 * 1024;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + zmq_strerror(zmq_errno());
}

}  // namespace

Runtime::Runtime(const simpang_host_api& host, simpang_plugin_kind kind, std::string plugin_name)
    : kind_(kind), plugin_name_(std::move(plugin_name)) {
  // Growth rule: copy what the host wrote into a zero-filled struct of our size.
  std::memcpy(&host_, &host, std::min<size_t>(host.struct_size, sizeof(host_)));
  instance_name_ = host_.instance_name ? host_.instance_name : plugin_name_;
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
}

Runtime::~Runtime() {
  if (thread_.joinable()) {
    stop_requested_ = true;
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
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
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    return Status::Error(std::string("eventfd: ") + std::strerror(errno));
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

// ---- Context: publishing ------------------------------------------------------------------------

Status Runtime::emit(simpang::v1::Event event) {
  if (kind_ == SIMPANG_KIND_SINK) {
    return Status::Error("emit: a sink cannot publish events");
  }
  SIMPANG_RETURN_IF_ERROR(check_emittable(event));
  if (event.spec_version().empty()) {
    event.set_spec_version("1.0");
  }
  // Appended as the encoded Publish.events element it will be (tag, length, bytes), straight into
  // the batch's wire bytes: sealing then only writes the headers in front, copying nothing again.
  const size_t size = event.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX)) {
    return Status::Error("emit: event " + event.id() + " could not be serialized");
  }
  using google::protobuf::io::CodedOutputStream;
  const auto length = static_cast<uint32_t>(size);
  const size_t at = current_wire_.size();
  current_wire_.resize(at + 1 + CodedOutputStream::VarintSize32(length) + size);
  auto* out = reinterpret_cast<uint8_t*>(current_wire_.data() + at);
  *out++ = kPublishEventsTag;
  out = CodedOutputStream::WriteVarint32ToArray(length, out);
  event.SerializeWithCachedSizesToArray(out);
  ++current_events_;
  if (in_deliver_) {
    emitted_in_deliver_ = true;
  }
  if (current_events_ >= max_batch_) {
    seal_current_batch();
    // Out as soon as the window allows, so a source need not wait for the next loop pass. Not from
    // inside a Deliver: handle_deliver() holds its settlements on the last batch, which must
    // still be unsent then; it sends what is ready itself.
    if (!in_deliver_) {
      send_ready_batches();
    }
  }
  return Status::Ok();
}

std::optional<std::string> Runtime::cursor(const std::string& key) const {
  auto it = cursors_.find(key);
  if (it == cursors_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void Runtime::set_cursor(const std::string& key, std::string value) {
  cursors_[key] = value;
  (*current_cursors_.mutable_cursors())[key] = std::move(value);
  cursors_staged_ = true;
}

void Runtime::count(std::string_view name, double delta) {
  (*metrics_.mutable_metrics()->mutable_counters())[std::string(name)] += delta;
  metrics_dirty_ = true;
}

void Runtime::gauge(std::string_view name, double value) {
  (*metrics_.mutable_metrics()->mutable_gauges())[std::string(name)] = value;
  metrics_dirty_ = true;
}

bool Runtime::backpressured() const {
  // Sealed batches wait in unsent_ only while the window is full (or the hub asked for a pause):
  // a source may fill the whole window, not one batch per pass.
  return unsent_.size() + unacked_.size() >= max_unacked_;
}

void Runtime::start_current_batch(size_t last_size) {
  // Room for the headers, then the events; capacity for a batch like the last (within reason), so
  // a full batch does not reallocate (and copy itself) as it fills.
  current_wire_ = std::string();
  current_wire_.reserve(std::clamp<size_t>(last_size, 4096, 4 << 20));
  current_wire_.assign(kPublishHeaderRoom, '\0');
}

void Runtime::seal_current_batch() {
  if (current_events_ == 0 && !cursors_staged_) {
    return;
  }
  cursors_staged_ = false;
  Batch batch;
  batch.id = next_batch_id_++;
  batch.events = current_events_;
  // The cursors go after the events (protobuf fields may come in any order): a Publish holding
  // only cursors encodes exactly its map entries.
  if (!current_cursors_.cursors().empty()) {
    current_cursors_.AppendToString(&current_wire_);
    current_cursors_.Clear();
  }
  // Now the lengths are known: Frame{publish: Publish{batch, events..., cursors...}}, its headers
  // written right-aligned into the room reserved in front of the events.
  using google::protobuf::io::CodedOutputStream;
  const size_t publish_size =
      1 + CodedOutputStream::VarintSize64(batch.id) + (current_wire_.size() - kPublishHeaderRoom);
  const size_t header_size =
      1 + CodedOutputStream::VarintSize32(static_cast<uint32_t>(publish_size)) + 1 +
      CodedOutputStream::VarintSize64(batch.id);
  batch.wire_offset = kPublishHeaderRoom - header_size;
  auto* out = reinterpret_cast<uint8_t*>(current_wire_.data() + batch.wire_offset);
  *out++ = kFramePublishTag;
  out = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(publish_size), out);
  *out++ = kPublishBatchTag;
  CodedOutputStream::WriteVarint64ToArray(batch.id, out);
  batch.wire = std::move(current_wire_);
  current_events_ = 0;
  start_current_batch(batch.wire.size());
  unsent_.push_back(std::move(batch));
}

void Runtime::send_ready_batches() {
  if (!connected_ || Clock::now() < resend_after_) {
    return;
  }
  while (!unsent_.empty() && unacked_.size() < max_unacked_) {
    Batch batch = std::move(unsent_.front());
    unsent_.pop_front();
    send_bytes(batch.wire.data() + batch.wire_offset, batch.wire.size() - batch.wire_offset);
    unacked_.emplace(batch.id, std::move(batch));
  }
}

void Runtime::handle_batch_result(uint64_t batch_id, const wire::PublishReject* reject) {
  auto it = unacked_.find(batch_id);
  if (it == unacked_.end()) {
    return;  // an ack for a batch resent after a reconnect, already settled
  }
  if (reject != nullptr && !reject->retry_later().empty()) {
    // Nothing of the batch was taken: publish it again, ahead of the later ones, after a pause.
    log(LogLevel::kWarn, "hub could not take batch " + std::to_string(batch_id) +
                             ", publishing it again shortly: " + reject->retry_later());
    unsent_.push_front(std::move(it->second));
    unacked_.erase(it);
    // Later batches already sent are ahead of it now; resend them after it, in order.
    for (auto later = unacked_.rbegin(); later != unacked_.rend(); ++later) {
      unsent_.insert(unsent_.begin() + 1, std::move(later->second));
    }
    unacked_.clear();
    resend_after_ = Clock::now() + std::chrono::seconds(1);
    return;
  }
  if (reject != nullptr) {
    for (const auto& rejection : reject->rejected()) {
      log(LogLevel::kError, "hub rejected event " + std::to_string(rejection.index()) +
                                " of batch " + std::to_string(batch_id) + ": " + rejection.reason());
    }
  }
  auto settlements = std::move(it->second.settle_after);
  unacked_.erase(it);
  if (!settlements.empty()) {
    send_settlements(std::move(settlements));
  }
}

// ---- Context: timers ----------------------------------------------------------------------------

TimerId Runtime::schedule(milliseconds delay, milliseconds interval,
                          std::function<void()> callback) {
  TimerId id = next_timer_id_++;
  timers_.emplace(id, Timer{interval, std::move(callback)});
  timer_queue_.emplace(Clock::now() + delay, id);
  return id;
}

TimerId Runtime::every(milliseconds interval, std::function<void()> callback) {
  return schedule(interval, std::max(interval, milliseconds(1)), std::move(callback));
}

TimerId Runtime::after(milliseconds delay, std::function<void()> callback) {
  return schedule(delay, milliseconds(0), std::move(callback));
}

void Runtime::cancel(TimerId id) { timers_.erase(id); }

void Runtime::run_due_timers() {
  if (!plugin_started_ || !connected_ || stopping_ || backpressured()) {
    return;
  }
  const auto now = Clock::now();
  while (!timer_queue_.empty() && timer_queue_.begin()->first <= now && !backpressured()) {
    auto [due, id] = *timer_queue_.begin();
    timer_queue_.erase(timer_queue_.begin());
    auto it = timers_.find(id);
    if (it == timers_.end()) {
      continue;  // cancelled
    }
    // Copy: the callback may cancel itself or schedule others, invalidating `it`.
    auto callback = it->second.callback;
    auto interval = it->second.interval;
    if (interval.count() > 0) {
      // Next due time from the previous one, not from now, so a steady rate does not drift; but
      // never schedule into the past after a long stall.
      timer_queue_.emplace(std::max(due + interval, now), id);
    } else {
      timers_.erase(it);
    }
    try {
      callback();
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
  finished_.set_value();
}

void Runtime::open_socket() {
  socket_ = zmq_socket(host_.zmq_context, ZMQ_DEALER);
  if (socket_ == nullptr) {
    throw std::runtime_error(errno_text("zmq_socket"));
  }
  // The routing id is the instance name, so the hub's ROUTER knows the peer across reconnects.
  zmq_setsockopt(socket_, ZMQ_ROUTING_ID, instance_name_.data(), instance_name_.size());
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
  send_frame(frame);
  hello_sent_ = Clock::now();
  connected_ = false;
}

void Runtime::grant_credit(uint32_t credit) {
  if (credit == 0 || consumer_ == nullptr || stopping_) {
    return;
  }
  wire::Frame frame;
  frame.mutable_credit()->set_credit(credit);
  send_frame(frame);
}

void Runtime::send_settlements(std::vector<wire::Settlement> settlements) {
  // The frame is kept between calls: clearing its settlements keeps their objects for reuse.
  auto* settle = settle_frame_.mutable_settle();
  settle->mutable_settlements()->Clear();
  settle->mutable_settlements()->Reserve(static_cast<int>(settlements.size()));
  for (auto& s : settlements) {
    *settle->add_settlements() = std::move(s);
  }
  // Each settled delivery returns one credit, carried in the Settle itself (as grant_credit()
  // would, none once stopping).
  const bool grant = consumer_ != nullptr && !stopping_;
  settle->set_credit(grant ? static_cast<uint32_t>(settlements.size()) : 0);
  send_frame(settle_frame_);
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

void Runtime::handle_deliver(const wire::Deliver& deliver) {
  std::vector<wire::Settlement> settlements;
  settlements.reserve(deliver.deliveries_size());
  in_deliver_ = true;
  emitted_in_deliver_ = false;
  // On the per-message arena (see drain_socket()), reused for every delivery of the frame.
  auto* event = google::protobuf::Arena::CreateMessage<simpang::v1::Event>(arena_.get());
  for (const auto& delivery : deliver.deliveries()) {
    wire::Settlement settlement;
    settlement.set_delivery_id(delivery.delivery_id());
    if (!event->ParseFromString(delivery.event())) {
      settlement.set_outcome(wire::Settlement::NACK_FATAL);
      settlement.set_reason("delivered event is not a valid simpang.v1.Event");
    } else {
      try {
        Outcome outcome = consumer_->on_event(*this, *event);
        switch (outcome.kind()) {
          case Outcome::Kind::kAck:
            settlement.set_outcome(wire::Settlement::ACK);
            break;
          case Outcome::Kind::kRetryLater:
            settlement.set_outcome(wire::Settlement::NACK_RETRYABLE);
            settlement.set_reason(outcome.reason());
            break;
          case Outcome::Kind::kReject:
            settlement.set_outcome(wire::Settlement::NACK_FATAL);
            settlement.set_reason(outcome.reason());
            break;
        }
      } catch (const std::exception& e) {
        settlement.set_outcome(wire::Settlement::NACK_RETRYABLE);
        settlement.set_reason(std::string("on_event threw: ") + e.what());
      } catch (...) {
        settlement.set_outcome(wire::Settlement::NACK_RETRYABLE);
        settlement.set_reason("on_event threw a non-standard exception");
      }
    }
    settlements.push_back(std::move(settlement));
    // A slow handler (an fsync, a remote call) must not look like a hung one: keep the hub's
    // liveness check fed between deliveries. A handler that never returns still goes silent.
    if (Clock::now() - last_sent_ >= heartbeat_) {
      wire::Frame heartbeat;
      heartbeat.mutable_heartbeat();
      send_frame(heartbeat);
    }
  }
  in_deliver_ = false;
  if (emitted_in_deliver_) {
    // Hold the settlements until the hub has acknowledged the batch holding the last output.
    seal_current_batch();
    auto& last = unsent_.back();
    for (auto& s : settlements) {
      last.settle_after.push_back(std::move(s));
    }
    send_ready_batches();
  } else {
    send_settlements(std::move(settlements));
  }
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
  if (plugin_started_ && connected_ && !stopping_ && !backpressured() && !timer_queue_.empty()) {
    next = std::min(next, timer_queue_.begin()->first);
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
    if (stop_requested_.load(std::memory_order_acquire) && !stopping_) {
      begin_stop();
    }
    if (stopping_) {
      // Done once everything we published is acknowledged and every held settlement went out.
      const bool drained = unsent_.empty() && unacked_.empty() && current_events_ == 0;
      if (drained || Clock::now() >= stop_deadline_) {
        if (!drained) {
          set_last_error("stopped with " + std::to_string(unsent_.size() + unacked_.size()) +
                         " publish batches not acknowledged by the hub");
        }
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

// ---- ABI thunks ---------------------------------------------------------------------------------

namespace {
Runtime* as_runtime(simpang_instance* instance) { return reinterpret_cast<Runtime*>(instance); }
}  // namespace

simpang_instance* create_instance(const simpang_host_api* host, simpang_plugin_kind kind,
                                  const char* plugin_name, PluginFactory factory,
                                  const char** error) noexcept {
  thread_local std::string create_error;
  auto fail = [&](std::string message) -> simpang_instance* {
    create_error = std::move(message);
    if (error != nullptr) {
      *error = create_error.c_str();
    }
    return nullptr;
  };
  if (host == nullptr || host->struct_size < offsetof(simpang_host_api, heartbeat_ms)) {
    return fail("host services missing or too old");
  }
  try {
    auto runtime = std::make_unique<Runtime>(*host, kind, plugin_name);
    Status status = runtime->construct(factory);
    if (!status.ok()) {
      return fail(status.message());
    }
    return reinterpret_cast<simpang_instance*>(runtime.release());
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("unknown exception while creating the instance");
  }
}

int start_instance(simpang_instance* instance) noexcept {
  try {
    Status status = as_runtime(instance)->start();
    if (!status.ok()) {
      as_runtime(instance)->set_last_error(status.message());
      return 1;
    }
    return 0;
  } catch (...) {
    return 1;
  }
}

int stop_instance(simpang_instance* instance, uint32_t deadline_ms) noexcept {
  try {
    return as_runtime(instance)->stop(milliseconds(deadline_ms));
  } catch (...) {
    return SIMPANG_STOP_INCOMPLETE;
  }
}

void destroy_instance(simpang_instance* instance) noexcept {
  try {
    delete as_runtime(instance);
  } catch (...) {
    // Nothing can be reported from here; the instance is gone either way.
  }
}

const char* instance_last_error(simpang_instance* instance) noexcept {
  try {
    return as_runtime(instance)->last_error();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace simpang::sdk::internal
