// The broker, delivering: dispatching events to connected consumers within their credit,
// settlements and retry timers, and paging a destination's backlog in from the journal. The rest
// of the class is in broker.cc (receiving, publishing, sending, timers), broker_door.cc (the
// partner door) and broker_status.cc (stats and the summary line).
#include "core/broker.h"

#include <zmq.h>

#include <algorithm>

#include "core/wire_codec.h"

namespace simpang::hub {
namespace wire = simpang::v1::wire;
using Clock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

namespace {

Destination::Outcome outcome_of(wire::Settlement::Outcome outcome) {
  switch (outcome) {
    case wire::Settlement::ACK:
      return Destination::Outcome::kAck;
    case wire::Settlement::NACK_RETRYABLE:
      return Destination::Outcome::kRetry;
    default:
      return Destination::Outcome::kFatal;
  }
}

}  // namespace

// ---- Delivering ---------------------------------------------------------------------------------

void Broker::dispatch(Slot& slot) {
  Destination& destination = slot.destination;
  if (!destination.connected()) {
    return;  // paged in when its consumer connects and settles, not before
  }
  destination.dispatch(options_.max_batch, [&](const std::deque<Pending>& ready, uint32_t n) {
    // The Deliver frame is encoded by hand straight into the message ZeroMQ sends: each event's
    // bytes are copied once, and no Delivery objects are built.
    size_t body = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const Pending& pending = ready[i];
      body += delivery_encoded_size(pending.id, pending.event->body().size(), pending.attempts + 1,
                                    policies_[pending.route].name.size());
    }
    zmq_msg_t message;
    if (zmq_msg_init_size(&message, deliver_header_size(body) + body) != 0) {
      logger_->error("instance={}: cannot allocate a Deliver frame of {} bytes: {}",
                     destination.name(), body, zmq_strerror(zmq_errno()));
      return false;
    }
    auto* out = write_deliver_header(static_cast<uint8_t*>(zmq_msg_data(&message)), body);
    for (uint32_t i = 0; i < n; ++i) {
      const Pending& pending = ready[i];
      out = write_delivery(out, pending.id, pending.event->body(), pending.attempts + 1,
                           policies_[pending.route].name);
    }
    send_message(destination.consumer(), message);
    return true;
  });
  maybe_load(slot);
}

void Broker::handle_credit(PeerTable::Peer& peer, uint32_t credit) {
  if (peer.destination < 0) {
    return;  // a consumer no route delivers to
  }
  Slot& slot = slots_[peer.destination];
  slot.destination.add_credit(credit);
  dispatch(slot);
}

void Broker::handle_settle(PeerTable::Peer& peer, const wire::Settle& settle) {
  if (peer.destination < 0) {
    return;
  }
  Slot& slot = slots_[peer.destination];
  const Now now = Now::from_clocks();
  for (const auto& settlement : settle.settlements()) {
    slot.destination.settle(settlement.delivery_id(), outcome_of(settlement.outcome()),
                            settlement.reason(), now);
  }
  arm_retry_timer(slot);
  // The credit the consumer returns with these settlements, as if a Credit frame followed them.
  slot.destination.add_credit(settle.credit());
  dispatch(slot);
  release_held_acks();
}

void Broker::arm_retry_timer(Slot& slot) {
  const auto due = slot.destination.next_retry_due();
  if (!due) {
    return;
  }
  if (slot.retry_timer_due != Clock::time_point{} && slot.retry_timer_due <= *due) {
    return;  // already armed for an earlier or equal time
  }
  slot.retry_timer_due = *due;
  slot.retry_timer.expires_at(*due);
  slot.retry_timer.async_wait([this, &slot](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    slot.retry_timer_due = {};
    slot.destination.promote_due_retries(Clock::now());
    arm_retry_timer(slot);
    dispatch(slot);
  });
}

// ---- Paging from the journal --------------------------------------------------------------------

void Broker::maybe_load(Slot& slot) {
  std::optional<LoadRequest> request = slot.destination.start_load();
  if (!request) {
    return;
  }
  boost::asio::post(reader_, [this, request = *request] {
    auto rows = journal_.load_pending(request.destination, request.after, request.limit);
    boost::asio::post(io_, [this, request, rows = std::move(rows)]() mutable {
      Slot& slot = slots_[request.destination];
      slot.destination.on_loaded(request, std::move(rows), Now::from_clocks());
      arm_retry_timer(slot);
      dispatch(slot);  // also pages again if still behind
    });
  });
}

void Broker::on_replay(const ReplayNotice& notice) {
  for (uint32_t index : notice.destinations) {
    if (index < slots_.size()) {
      slots_[index].destination.rescan();
      maybe_load(slots_[index]);
    }
  }
  logger_->info("replay requested: {} deliveries to {} destinations", notice.deliveries,
                notice.destinations.size());
}

void Broker::set_peer_observer(std::function<void(const std::string&)> connected,
                               std::function<void(const std::string&, const std::string&)> lost) {
  on_connected_ = std::move(connected);
  on_lost_ = std::move(lost);
}

void Broker::flush_updates() {
  if (!door_backlog_.empty()) {
    release_backlog(updates_);  // partners' deliveries done: their backlogs shrink
  }
  if (!updates_.empty()) {
    journal_.update(std::move(updates_));
    updates_.clear();
  }
}

}  // namespace simpang::hub
