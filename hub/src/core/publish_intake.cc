#include "core/publish_intake.h"

#include "core/wire_codec.h"
#include "simpang/base/event_rules.h"
#include "simpang/base/safe_text.h"

namespace simpang::hub {
namespace wire = simpang::v1::wire;

namespace {

// Types no route matched that are remembered and logged by name; beyond this many distinct ones
// an unrouted event is only counted.
constexpr size_t kUnroutedTypesLogged = 1024;

}  // namespace

PublishIntake::PublishIntake(Journal& journal, std::shared_ptr<spdlog::logger> logger,
                             size_t route_count)
    : journal_(journal), logger_(std::move(logger)) {
  counters_.per_route.assign(route_count, 0);
}

AppendBatch PublishIntake::admit(const std::string& publisher, wire::Publish& publish,
                                 const RouteTable& table, RoutedPublish& routed, EventGate* gate) {
  AppendBatch batch;
  batch.publisher = publisher;
  batch.cursors.insert(publish.cursors().begin(), publish.cursors().end());
  auto* events = publish.mutable_events();
  batch.events.reserve(events->size());
  routed.events.reserve(events->size());
  for (int i = 0; i < events->size(); ++i) {
    std::string& bytes = *events->Mutable(i);
    std::string reason;
    bool gated = false;  // refused by the gate, which logged it
    AttributeSpans spans;
    // Only the attributes: the data is neither needed nor copied here. This is the one parse the
    // event gets; what the delivery path needs of it is kept in its EventRecord.
    if (!parse_event_attributes(bytes.data(), bytes.size(), event_, &spans)) {
      reason = "not a valid simpang.v1.Event";
    } else {
      // The rules the SDK applies on emit, in the same words; empty when the event meets them.
      reason = check_event(event_, event_.spec_version(), bytes.size(), limits_).message();
      if (reason.empty() && gate != nullptr) {
        reason = gate->refusal(publisher, event_);
        gated = !reason.empty();
      }
    }
    if (!reason.empty()) {
      if (!routed.rejections) {
        routed.rejections = std::make_unique<wire::PublishReject>();
      }
      auto* rejection = routed.rejections->add_rejected();
      rejection->set_index(static_cast<uint32_t>(i));
      rejection->set_reason(reason);
      ++counters_.rejected;
      uint64_t held_back = 0;
      if (logger_ && !gated && rejection_log_.allow(LogLimiter::Clock::now(), held_back)) {
        logger_->warn("instance={} batch={} event {} rejected: {}{}", publisher, publish.batch(), i,
                      reason, LogLimiter::suffix(held_back));
      }
      continue;
    }
    targets_.clear();
    table.match(publisher, event_, targets_);
    RoutedEvent info;
    // One copy of the bytes, shared by the journal and every destination; moved out of the frame.
    info.event = std::make_shared<const EventRecord>(std::move(bytes), event_, spans);
    info.first_target = static_cast<uint32_t>(routed.targets.size());
    info.target_count = static_cast<uint32_t>(targets_.size());
    routed.targets.insert(routed.targets.end(), targets_.begin(), targets_.end());
    NewEvent event;
    event.source = event_.source();
    event.id = event_.id();
    event.body = EventRecord::shared_body(info.event);
    event.deliveries.reserve(targets_.size());
    for (const auto& target : targets_) {
      event.deliveries.push_back({target.destination, target.route});
    }
    batch.events.push_back(std::move(event));
    routed.events.push_back(std::move(info));
  }
  return batch;
}

void PublishIntake::count_unrouted(const RoutedPublish& routed, const RoutedEvent& event) {
  ++counters_.unrouted;
  const std::string_view type = event.event->type();
  auto seen = unrouted_types_.find(type);
  if (seen != unrouted_types_.end()) {
    ++seen->second;
    return;
  }
  // Remembered (and logged once) up to a bound, so a publisher inventing types cannot grow the
  // hub's memory; beyond it an unrouted event is only counted.
  if (unrouted_types_.size() < kUnroutedTypesLogged) {
    unrouted_types_.emplace(std::string(type), 1);
    if (logger_) {
      logger_->warn("peer={} event type={} matches no route (counted as unrouted)",
                    safe_text(routed.identity), type);
    }
  }
}

bool PublishIntake::failed(RoutedPublish& routed, const Status& status, wire::Frame& reply) {
  if (logger_) {
    logger_->error("peer={} batch={}: journal write failed, the publisher will retry: {}",
                   safe_text(routed.identity), routed.batch, status.message());
  }
  auto* reject = reply.mutable_publish_reject();
  reject->set_batch(routed.batch);
  reject->set_retry_later("the hub could not make the batch durable: " + status.message());
  return false;
}

void PublishIntake::hold(const std::string& identity, const wire::Frame& reply) {
  std::string bytes;
  reply.SerializeToString(&bytes);
  held_.emplace_back(identity, std::move(bytes));
}

void PublishIntake::drop_held(const std::string& identity) {
  std::erase_if(held_, [&](const auto& held) { return held.first == identity; });
}

}  // namespace simpang::hub
