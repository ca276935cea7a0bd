#include "core/peer_table.h"

#include "simpang/base/safe_text.h"

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
    case PeerLoss::kReplaced:
      return "was replaced by its restarted run";
    case PeerLoss::kBadFrame:
      return "sent a message that is not a wire frame";
    case PeerLoss::kRevoked:
      return "was refused at the partner door";
  }
  return "left";
}

bool is_unexpected(PeerLoss loss) {
  return loss == PeerLoss::kUnreachable || loss == PeerLoss::kSilent;
}

std::string hello_refusal(const HelloCheck& hello) {
  if (hello.protocol != hello.hub_protocol) {
    return "wire protocol " + std::to_string(hello.protocol) +
           " is not supported; this hub speaks wire protocol " + std::to_string(hello.hub_protocol) +
           " (rebuild the peer against a matching SDK)";
  }
  const std::string instance = "'" + safe_text(hello.instance) + "'";
  if (!hello.configured) {
    return "instance " + instance + " is not in the hub's configuration";
  }
  if (!hello.token_issued) {
    return "instance " + instance + " is not running: the hub has not started it";
  }
  if (!hello.token_matches) {
    return "hello for instance " + instance +
           " does not carry the token the hub issued to its current run";
  }
  return {};
}

bool same_token(std::string_view offered, std::string_view issued) {
  if (offered.size() != issued.size()) {
    return false;
  }
  unsigned char differ = 0;
  for (size_t i = 0; i < issued.size(); ++i) {
    differ |= static_cast<unsigned char>(offered[i] ^ issued[i]);
  }
  return differ == 0;
}

const std::string* PeerTable::identity_of(std::string_view instance) const {
  for (const auto& [identity, peer] : peers_) {
    if (peer.instance == instance) {
      return &identity;
    }
  }
  return nullptr;
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
