// The SDK runtime, publishing: emit() and publish() fill Publish batches in place, batches go out
// within the hub's window, and the hub's answers settle them (and answer publish() groups).
#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <climits>

#include "event_checks.h"
#include "runtime.h"

namespace simpang::sdk::internal {
namespace wire = simpang::v1::wire;
using std::chrono::milliseconds;

namespace {

// Encoding of a Publish Frame by hand (see emit() and seal_current_batch()): the tags of
// Frame.publish (field 4), Publish.batch (field 1) and Publish.events (field 2).
constexpr uint8_t kFramePublishTag = (4 << 3) | 2;   // length-delimited
constexpr uint8_t kPublishBatchTag = (1 << 3) | 0;   // varint
constexpr uint8_t kPublishEventsTag = (2 << 3) | 2;  // length-delimited
// Room for the most the Frame tag + Publish length + batch tag + batch id can take.
constexpr size_t kPublishHeaderRoom = 1 + 5 + 1 + 10;

}  // namespace

// Appended as the encoded Publish.events element it will be (tag, length, bytes), straight into
// the batch's wire bytes: sealing then only writes the headers in front, copying nothing again.
// REQUIRES: size == event.ByteSizeLong() <= INT_MAX (so its cached size is set).
inline void Runtime::append_event(const simpang::v1::Event& event, size_t size) {
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
}

void Runtime::make_room(size_t size) {
  // The event's tag and length, and the Frame's and Publish's headers, on top of its bytes.
  constexpr size_t kEventOverhead = 1 + 5;
  if (current_events_ > 0 &&
      current_wire_.size() + kEventOverhead + size + kPublishHeaderRoom > max_frame_bytes_) {
    seal_current_batch();
    if (!in_deliver_) {
      send_ready_batches();
    }
  }
}

Status Runtime::emit(simpang::v1::Event event) {
  if (kind_ == SIMPANG_KIND_SINK) {
    return Status::Error("emit: a sink cannot publish events");
  }
  if (Status status = check_emittable(event, limits_); !status.ok()) {
    return Status::Error("emit: " + status.message());
  }
  if (event.spec_version().empty()) {
    event.set_spec_version("1.0");
  }
  const size_t size = event.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX)) {
    return Status::Error("emit: event " + event.id() + " could not be serialized");
  }
  make_room(size);
  append_event(event, size);
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

Status Runtime::publish(std::vector<simpang::v1::Event> events, milliseconds deadline,
                        PublishCallback done) {
  if (kind_ == SIMPANG_KIND_SINK) {
    return Status::Error("publish: a sink cannot publish events");
  }
  if (deadline.count() <= 0) {
    return Status::Error("publish: the deadline must be positive, got " +
                         std::to_string(deadline.count()) + " ms");
  }
  // All or nothing: every event is checked before the first is appended.
  std::vector<size_t> sizes(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    simpang::v1::Event& event = events[i];
    if (Status status = check_emittable(event, limits_); !status.ok()) {
      return Status::Error("publish: event " + std::to_string(i) + " of the group: " +
                           status.message());
    }
    if (event.spec_version().empty()) {
      event.set_spec_version("1.0");
    }
    sizes[i] = event.ByteSizeLong();
    if (sizes[i] > static_cast<size_t>(INT_MAX)) {
      return Status::Error("publish: event " + event.id() + " could not be serialized");
    }
  }
  if (events.empty()) {
    // Nothing to wait for, but never inside this call.
    post([done = std::move(done)] { done(PublishResult::durable()); });
    return Status::Ok();
  }
  const uint64_t id = next_group_++;
  Group& group = groups_[id];
  group.done = std::move(done);
  group.unanswered = events.size();
  group.timeout = deadline;
  group.deadline =
      deadlines_.add(Clock::now() + deadline, milliseconds(0), [this, id] { time_out_group(id); });
  for (size_t i = 0; i < events.size(); ++i) {
    make_room(sizes[i]);
    // A run per batch: a new one whenever this event starts the batch being filled.
    if (current_groups_.empty() || current_groups_.back().group != id) {
      current_groups_.push_back(GroupSpan{id, static_cast<uint32_t>(current_events_), 0, i});
    }
    append_event(events[i], sizes[i]);
    ++current_groups_.back().count;
    if (current_events_ >= max_batch_) {
      seal_current_batch();
      if (!in_deliver_) {
        send_ready_batches();
      }
    }
  }
  return Status::Ok();
}

void Runtime::answer_groups(const Batch& batch, const wire::PublishReject* reject,
                            std::vector<Group>& completed) {
  const auto span_of = [&batch](uint32_t index) -> const GroupSpan* {
    for (const GroupSpan& span : batch.groups) {
      if (index >= span.first_in_batch && index - span.first_in_batch < span.count) {
        return &span;
      }
    }
    return nullptr;
  };
  if (reject != nullptr) {
    for (const auto& rejection : reject->rejected()) {
      const GroupSpan* span = span_of(rejection.index());
      if (span == nullptr) {
        log(LogLevel::kError, "hub rejected event " + std::to_string(rejection.index()) +
                                  " of batch " + std::to_string(batch.id) + ": " +
                                  rejection.reason());
        continue;
      }
      // The group's own caller hears of it; a group already timed out is gone.
      if (auto it = groups_.find(span->group); it != groups_.end()) {
        it->second.rejections.push_back(EventRejection{
            span->first_in_group + (rejection.index() - span->first_in_batch), rejection.reason()});
      }
    }
  }
  for (const GroupSpan& span : batch.groups) {
    auto it = groups_.find(span.group);
    if (it == groups_.end()) {
      continue;  // timed out already: a late answer changes nothing
    }
    it->second.unanswered -= std::min<size_t>(span.count, it->second.unanswered);
    if (it->second.unanswered == 0) {
      deadlines_.cancel(it->second.deadline);
      completed.push_back(std::move(it->second));
      groups_.erase(it);
    }
  }
}

void Runtime::complete_group(Group& group, const PublishResult& result) {
  try {
    group.done(result);
  } catch (const std::exception& e) {
    log(LogLevel::kError, std::string("publish completion threw: ") + e.what());
  } catch (...) {
    log(LogLevel::kError, "publish completion threw a non-standard exception");
  }
}

void Runtime::time_out_group(uint64_t id) {
  auto it = groups_.find(id);
  if (it == groups_.end()) {
    return;
  }
  Group group = std::move(it->second);
  groups_.erase(it);
  // Its events stay queued: they are published when the hub is back (see PublishResult).
  const std::string timeout = std::to_string(group.timeout.count()) + " ms";
  complete_group(group, PublishResult::timed_out(
                            connected_ ? "the hub did not answer within " + timeout
                                       : "the hub could not be reached within " + timeout));
}

void Runtime::time_out_all_groups(const std::string& why) {
  // Taken out first: a callback may publish again (that group is then timed out with these).
  while (!groups_.empty()) {
    auto groups = std::move(groups_);
    groups_.clear();
    for (auto& [id, group] : groups) {
      deadlines_.cancel(group.deadline);
      complete_group(group, PublishResult::timed_out(why));
    }
  }
}

void Runtime::run_due_deadlines() {
  const auto now = Clock::now();
  while (auto fired = deadlines_.pop_due(now, now)) {
    fired->callback();
  }
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
  if (!current_groups_.empty()) {
    batch.groups = std::move(current_groups_);
    current_groups_.clear();
  }
  if (!current_settle_after_.empty()) {
    batch.settle_after = std::move(current_settle_after_);
    current_settle_after_.clear();
  }
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
  const size_t header_size = 1 +
                             CodedOutputStream::VarintSize32(static_cast<uint32_t>(publish_size)) +
                             1 + CodedOutputStream::VarintSize64(batch.id);
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
    // (Its groups are not answered for: their deadlines keep running.)
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
  Batch batch = std::move(it->second);
  unacked_.erase(it);
  std::vector<Group> completed;
  if (batch.groups.empty()) {
    if (reject != nullptr) {
      for (const auto& rejection : reject->rejected()) {
        log(LogLevel::kError, "hub rejected event " + std::to_string(rejection.index()) +
                                  " of batch " + std::to_string(batch_id) + ": " +
                                  rejection.reason());
      }
    }
  } else {
    answer_groups(batch, reject, completed);
  }
  if (!batch.settle_after.empty()) {
    send_settlements(std::move(batch.settle_after));
  }
  // Last: a completion may publish, emit or settle, and the runtime's state is consistent now.
  for (Group& group : completed) {
    if (group.rejections.empty()) {
      complete_group(group, PublishResult::durable());
    } else {
      std::sort(group.rejections.begin(), group.rejections.end(),
                [](const EventRejection& a, const EventRejection& b) { return a.index < b.index; });
      complete_group(group, PublishResult::rejected(std::move(group.rejections)));
    }
  }
}

}  // namespace simpang::sdk::internal
