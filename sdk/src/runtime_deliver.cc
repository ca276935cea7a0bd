// The SDK runtime, delivery: Deliver frames to on_event, settlements back to the hub (at once, or
// later for pending deliveries), and the credit that bounds what the hub sends.
#include <algorithm>
#include <utility>

#include "runtime.h"

namespace simpang::sdk::internal {
namespace wire = simpang::v1::wire;

namespace {

// Fills `settlement` from a final outcome (not kPending).
void set_outcome(wire::Settlement& settlement, const Outcome& outcome) {
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
    case Outcome::Kind::kPending:
      break;
  }
}

}  // namespace

void Runtime::grant_credit(uint32_t credit) {
  if (credit == 0 || consumer_ == nullptr || stopping_) {
    return;
  }
  wire::Frame frame;
  frame.mutable_credit()->set_credit(credit);
  send_frame(frame);
}

void Runtime::set_delivery_window(uint32_t deliveries) {
  credit_window_ = std::max<uint32_t>(deliveries, 1);
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
  // would, none once stopping). A pending delivery returns its credit only here, when settled:
  // so what is pending never exceeds the window.
  const bool grant = consumer_ != nullptr && !stopping_;
  settle->set_credit(grant ? static_cast<uint32_t>(settlements.size()) : 0);
  send_frame(settle_frame_);
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
    bool pending = false;
    if (!event->ParseFromString(delivery.event())) {
      settlement.set_outcome(wire::Settlement::NACK_FATAL);
      settlement.set_reason("delivered event is not a valid simpang.v1.Event");
    } else {
      delivering_id_ = delivery.delivery_id();
      deferred_token_ = 0;
      try {
        Outcome outcome = consumer_->on_event(*this, *event);
        if (outcome.kind() != Outcome::Kind::kPending) {
          set_outcome(settlement, outcome);
        } else if (deferred_token_ != 0) {
          pending_.emplace(deferred_token_, delivery.delivery_id());
          pending = true;  // settled later, by settle()
        } else {
          settlement.set_outcome(wire::Settlement::NACK_RETRYABLE);
          settlement.set_reason("on_event returned pending without calling Context::defer()");
        }
      } catch (const std::exception& e) {
        settlement.set_outcome(wire::Settlement::NACK_RETRYABLE);
        settlement.set_reason(std::string("on_event threw: ") + e.what());
      } catch (...) {
        settlement.set_outcome(wire::Settlement::NACK_RETRYABLE);
        settlement.set_reason("on_event threw a non-standard exception");
      }
      delivering_id_ = 0;
      deferred_token_ = 0;  // a handle not kept as pending is stale from here on
    }
    if (!pending) {
      settlements.push_back(std::move(settlement));
    }
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
  } else if (!settlements.empty()) {
    send_settlements(std::move(settlements));
  }
}

PendingDelivery Runtime::defer() {
  if (delivering_id_ == 0) {
    return PendingDelivery();
  }
  if (deferred_token_ == 0) {
    deferred_token_ = next_token_++;
  }
  return PendingDelivery(deferred_token_);
}

bool Runtime::settle(const PendingDelivery& delivery, Outcome outcome) {
  if (outcome.kind() == Outcome::Kind::kPending) {
    return false;
  }
  const auto it = pending_.find(delivery.token());
  if (it == pending_.end()) {
    return false;  // stale (a reconnect), already settled, or never pending
  }
  wire::Settlement settlement;
  settlement.set_delivery_id(it->second);
  set_outcome(settlement, outcome);
  pending_.erase(it);
  if (kind_ == SIMPANG_KIND_TRANSFORM) {
    // Whatever it published so far (its outputs among it) must be durable first: hold the
    // settlement on the last batch not yet acknowledged, as handle_deliver() does.
    if (current_events_ > 0) {
      current_settle_after_.push_back(std::move(settlement));
      return true;
    }
    if (!unsent_.empty()) {
      unsent_.back().settle_after.push_back(std::move(settlement));
      return true;
    }
    if (!unacked_.empty()) {
      unacked_.rbegin()->second.settle_after.push_back(std::move(settlement));
      return true;
    }
  }
  ready_settlements_.push_back(std::move(settlement));
  return true;
}

void Runtime::flush_settlements() {
  if (!ready_settlements_.empty()) {
    send_settlements(std::exchange(ready_settlements_, {}));
  }
}

void Runtime::forget_pending(const char* why) {
  if (!pending_.empty()) {
    log(LogLevel::kInfo, std::to_string(pending_.size()) + " pending deliveries are forgotten (" +
                             why + "); the hub delivers them again");
  }
  pending_.clear();
  ready_settlements_.clear();
}

}  // namespace simpang::sdk::internal
