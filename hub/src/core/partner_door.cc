#include "core/partner_door.h"

#include <algorithm>

#include "simpang/base/safe_text.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub {
namespace {

// No routing id on the local socket may start with it (the broker refuses those), so a door
// connection's key never equals a local one's. 0xFF never starts valid UTF-8 nor a libzmq
// generated id (those start with 0x00).
constexpr std::string_view kDoorPrefix =
    "\xff"
    "door:";

// How far ahead of now a partner's buckets may run before its acks wait: one second's quota is
// the burst a partner may send at full speed.
constexpr auto kBurst = std::chrono::seconds(1);

// The time `amount` units take at `per_second`.
PartnerDoor::Clock::duration cost(uint64_t amount, uint64_t per_second) {
  const auto nanos = static_cast<long double>(amount) * 1e9L / static_cast<long double>(per_second);
  return std::chrono::duration_cast<PartnerDoor::Clock::duration>(
      std::chrono::nanoseconds(static_cast<int64_t>(nanos)));
}

}  // namespace

PartnerDoor::PartnerDoor(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

std::string PartnerDoor::door_identity(std::string_view routing_id) {
  std::string identity(kDoorPrefix);
  identity.append(routing_id);
  return identity;
}

bool PartnerDoor::is_door_identity(std::string_view identity) {
  return identity.starts_with(kDoorPrefix);
}

std::string_view PartnerDoor::routing_id_of(std::string_view door_identity) {
  return door_identity.substr(kDoorPrefix.size());
}

std::vector<std::string> PartnerDoor::set_partners(const std::vector<PartnerConfig>& partners) {
  std::map<std::string, Partner, std::less<>> next;
  std::vector<std::string> revoked;
  for (const PartnerConfig& config : partners) {
    Partner partner;
    partner.name = config.name;
    partner.curve_public_key = config.curve_public_key;
    partner.source_prefix = config.source_prefix;
    partner.quotas = config.quotas;
    for (const std::string& text : config.types) {
      StatusOr<TypePattern> pattern = TypePattern::compile(text);
      if (!pattern.ok()) {
        logger_->error("partner={}: type pattern '{}' ignored: {}", config.name, text,
                       pattern.status().message());
        continue;
      }
      partner.types.push_back(std::move(*pattern));
    }
    if (auto old = partners_.find(config.name); old != partners_.end()) {
      // Its buckets carry on: a reload is no way to reset a quota.
      partner.events_due = old->second.events_due;
      partner.bytes_due = old->second.bytes_due;
      partner.backlog = old->second.backlog;
      if (old->second.curve_public_key != partner.curve_public_key) {
        revoked.push_back(config.name);
      }
    }
    next.emplace(config.name, std::move(partner));
  }
  for (const auto& [name, partner] : partners_) {
    if (next.count(name) == 0) {
      revoked.push_back(name);
    }
  }
  partners_ = std::move(next);
  return revoked;
}

const PartnerDoor::Partner* PartnerDoor::find(std::string_view name) const {
  auto it = partners_.find(name);
  return it == partners_.end() ? nullptr : &it->second;
}

std::map<std::string, std::string> PartnerDoor::keys() const {
  std::map<std::string, std::string> keys;
  for (const auto& [name, partner] : partners_) {
    if (!partner.curve_public_key.empty()) {
      keys.emplace(partner.curve_public_key, name);
    }
  }
  return keys;
}

std::string PartnerDoor::refusal(std::string_view publisher, const simpang::v1::Event& event) {
  std::string reason;
  const Partner* partner = find(publisher);
  if (partner == nullptr) {
    reason = "'" + safe_text(publisher) + "' is not a configured partner";
  } else if (std::none_of(partner->types.begin(), partner->types.end(),
                          [&](const TypePattern& p) { return p.matches(event.type()); })) {
    std::string allowed;
    for (const TypePattern& p : partner->types) {
      allowed += (allowed.empty() ? "" : ", ") + p.text();
    }
    reason = "event " + safe_text(event.id()) + ": partner '" + partner->name +
             "' may not publish type '" + safe_text(event.type()) +
             "' (allowed: " + (allowed.empty() ? "none" : allowed) + ")";
  } else if (!std::string_view(event.source()).starts_with(partner->source_prefix)) {
    reason = "event " + safe_text(event.id()) + ": partner '" + partner->name +
             "' may not claim source '" + safe_text(event.source()) +
             "' (its sources start with '" + safe_text(partner->source_prefix) + "')";
  } else {
    return {};
  }
  ++counters_.events_refused;
  uint64_t held_back = 0;
  if (refusal_log_.allow(Clock::now(), held_back)) {
    logger_->warn("partner={} type={} source={} id={} rejected: {}{}", safe_text(publisher),
                  safe_text(event.type()), safe_text(event.source()), safe_text(event.id()), reason,
                  LogLimiter::suffix(held_back));
  }
  return reason;
}

PartnerDoor::Clock::time_point PartnerDoor::charge(std::string_view name, uint32_t events,
                                                   uint64_t bytes, Clock::time_point now) {
  auto it = partners_.find(name);
  if (it == partners_.end()) {
    return now;
  }
  Partner& partner = it->second;
  Clock::time_point ready = now;
  // GCRA: the bucket's due time moves on by the batch's cost; the ack waits for the part of it
  // beyond one second's burst.
  if (partner.quotas.events_per_second > 0) {
    partner.events_due =
        std::max(partner.events_due, now) + cost(events, partner.quotas.events_per_second);
    ready = std::max(ready, partner.events_due - kBurst);
  }
  if (partner.quotas.bytes_per_second > 0) {
    partner.bytes_due =
        std::max(partner.bytes_due, now) + cost(bytes, partner.quotas.bytes_per_second);
    ready = std::max(ready, partner.bytes_due - kBurst);
  }
  if (ready > now) {
    ++counters_.acks_delayed;
  }
  return ready;
}

bool PartnerDoor::counts_backlog(std::string_view name) const {
  const Partner* partner = find(name);
  return partner != nullptr && partner->quotas.max_backlog > 0;
}

std::string PartnerDoor::backlog_refusal(std::string_view name, uint64_t batch) const {
  const Partner* partner = find(name);
  if (partner == nullptr || partner->quotas.max_backlog == 0 ||
      partner->backlog < partner->quotas.max_backlog) {
    return {};
  }
  return "batch " + std::to_string(batch) + ": partner '" + partner->name + "' has " +
         std::to_string(partner->backlog) +
         " deliveries of its events pending, the most quotas.max_backlog (" +
         std::to_string(partner->quotas.max_backlog) +
         ") allows; publish it again once they are delivered";
}

void PartnerDoor::add_backlog(std::string_view name) {
  if (auto it = partners_.find(name); it != partners_.end()) {
    ++it->second.backlog;
  }
}

void PartnerDoor::release_backlog(std::string_view name) {
  if (auto it = partners_.find(name); it != partners_.end() && it->second.backlog > 0) {
    --it->second.backlog;
  }
}

uint32_t PartnerDoor::max_unacked(std::string_view name, uint32_t hub_default) const {
  const Partner* partner = find(name);
  return partner != nullptr && partner->quotas.max_unacked > 0 ? partner->quotas.max_unacked
                                                               : hub_default;
}

}  // namespace simpang::hub
