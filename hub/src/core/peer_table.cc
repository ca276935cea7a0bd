#include "core/peer_table.h"

namespace simpang::hub {

const char* describe(PeerLoss loss) {
  switch (loss) {
    case PeerLoss::kGoodbye:
      return "said goodbye";
    case PeerLoss::kHelloAgain:
      return "said hello again";
    case PeerLoss::kUnreachable:
      return "became unreachable";
    case PeerLoss::kSilent:
      return "went silent";
  }
  return "left";
}

bool is_unexpected(PeerLoss loss) {
  return loss == PeerLoss::kUnreachable || loss == PeerLoss::kSilent;
}

std::string hello_refusal(std::string_view identity, std::string_view instance, bool configured,
                          uint32_t protocol, uint32_t hub_protocol) {
  if (instance != identity) {
    return "hello names instance '" + std::string(instance) + "' but the connection is '" +
           std::string(identity) + "'";
  }
  if (!configured) {
    return "instance '" + std::string(instance) + "' is not in the hub's configuration";
  }
  if (protocol != hub_protocol) {
    return "wire protocol " + std::to_string(protocol) + " is not supported; this hub speaks " +
           std::to_string(hub_protocol);
  }
  return {};
}

uint64_t PeerTable::add(const std::string& identity, Peer peer, Clock::time_point now) {
  peer.last_heard = now;
  peer.last_sent = now;
  peers_.insert_or_assign(identity, std::move(peer));
  return ++sessions_[identity];
}

bool PeerTable::is_session(const std::string& identity, uint64_t session) const {
  auto it = sessions_.find(identity);
  return peers_.count(identity) != 0 && it != sessions_.end() && it->second == session;
}

PeerTable::Peer* PeerTable::find(const std::string& identity) {
  auto it = peers_.find(identity);
  return it == peers_.end() ? nullptr : &it->second;
}

const PeerTable::Peer* PeerTable::find(const std::string& identity) const {
  auto it = peers_.find(identity);
  return it == peers_.end() ? nullptr : &it->second;
}

std::optional<PeerTable::Peer> PeerTable::remove(const std::string& identity) {
  auto it = peers_.find(identity);
  if (it == peers_.end()) {
    return std::nullopt;
  }
  Peer peer = std::move(it->second);
  peers_.erase(it);
  return peer;
}

void PeerTable::sent(const std::string& identity, Clock::time_point now) {
  auto it = peers_.find(identity);
  if (it != peers_.end()) {
    it->second.last_sent = now;
  }
}

void PeerTable::sweep(Clock::time_point now, std::chrono::milliseconds heartbeat,
                      Sweep& out) const {
  out.silent.clear();
  out.heartbeat.clear();
  for (const auto& [identity, peer] : peers_) {
    if (now - peer.last_heard > heartbeat * kLivenessIntervals) {
      out.silent.push_back(identity);
    } else if (peer.welcomed && now - peer.last_sent >= heartbeat) {
      out.heartbeat.push_back(identity);
    }
  }
}

}  // namespace simpang::hub
