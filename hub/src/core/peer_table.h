// The broker's peers: who is connected on the ROUTER socket (by routing id), what each said in its
// hello, and whether each is still alive. Liveness follows the Paranoid Pirate pattern: a peer
// heard nothing from for kLivenessIntervals heartbeats is presumed gone; a welcomed peer the hub
// has sent nothing to for one heartbeat gets a heartbeat.
//
// The table decides nothing about deliveries and sends nothing itself: sweep() says who is silent
// and who is due a heartbeat, and the broker acts on it. Times are passed in, so liveness can be
// tested without a socket or a clock.
//
//   PeerTable peers;
//   uint64_t session = peers.add("sink-a", peer, now);
//   ...                                            // later, when its welcome is ready
//   if (peers.is_session(identity, session)) { welcome it }
//   PeerTable::Sweep due;
//   peers.sweep(now, heartbeat, due);              // due.silent: forget them; due.heartbeat: ping
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace simpang::hub {

// Why a peer left the table. Expected departures (a goodbye, a new hello on the same id) are not
// losses a supervisor needs to hear of; the others are.
enum class PeerLoss {
  kGoodbye,      // it said goodbye
  kHelloAgain,   // it said hello again: a reconnect, the old session is over
  kUnreachable,  // a send found it disconnected
  kSilent,       // it missed kLivenessIntervals heartbeats
  kReplaced,     // its instance was restarted: a hello with the new token took over
  kBadFrame,     // it sent a message that is not a wire Frame, and was refused
  kRevoked,      // a partner connection refused for good (revoked, over a door limit)
};

// Words for the log and for a supervisor, e.g. "went silent". Thread rule: none.
const char* describe(PeerLoss loss);
// Whether a supervisor should be told (it may restart the instance). Thread rule: none.
bool is_unexpected(PeerLoss loss);

// What the hub knows when a Hello arrives, for hello_refusal().
struct HelloCheck {
  std::string_view instance;  // as the Hello names it
  uint32_t protocol = 0;      // the peer's wire protocol version
  uint32_t hub_protocol = 0;  // ours
  bool configured = false;    // the instance is in the configuration
  bool token_issued = false;  // the hub started this instance and issued it a token
  bool token_matches = false; // the Hello carries that token
};

// Why a hello is refused, or empty when it is welcome: the peer must speak `hub_protocol`, the
// instance must be configured, and the Hello must carry the token the hub issued to the instance's
// current run. Identity never comes from a name or a routing id the peer chose. The words quote
// the instance name safely (safe_text), so a refusal is always valid UTF-8. Thread rule: none.
std::string hello_refusal(const HelloCheck& hello);

// Whether `offered` equals `issued`, in time that does not depend on where they differ.
// Thread rule: none.
bool same_token(std::string_view offered, std::string_view issued);

class PeerTable {
 public:
  using Clock = std::chrono::steady_clock;
  // Heartbeats a peer may miss before it is presumed gone; what it had is then redelivered.
  static constexpr int kLivenessIntervals = 3;

  struct Peer {
    std::string instance;
    bool produces = false;
    bool welcomed = false;
    int destination = -1;  // the broker's destination index when the peer consumes; -1 if none
    std::string token;     // the token its hello carried: the instance's run it belongs to
    uint32_t unacked = 0;  // its Publish batches the hub has not answered yet
    Clock::time_point last_heard{};
    Clock::time_point last_sent{};
  };

  // Adds `peer` under `identity` (heard from and sent to at `now`) and returns its session: the
  // number of hellos this identity has made, so a welcome prepared off the loop for an earlier
  // hello can tell it is stale. REQUIRES: `identity` is not in the table (remove it first).
  uint64_t add(const std::string& identity, Peer peer, Clock::time_point now);
  // Whether `identity` is in the table with session `session` (no later hello replaced it).
  bool is_session(const std::string& identity, uint64_t session) const;
  // The peer under `identity`, or null. The pointer is valid until the next add() or remove().
  Peer* find(const std::string& identity);
  const Peer* find(const std::string& identity) const;
  bool contains(const std::string& identity) const { return peers_.count(identity) != 0; }
  // The routing id of the peer that said hello as `instance`, or null. Linear in the peers.
  const std::string* identity_of(std::string_view instance) const;
  // Removes `identity` and returns what it was, or nothing if it was not there.
  std::optional<Peer> remove(const std::string& identity);

  // Something arrived from / was sent to `peer` at `now`.
  static void heard(Peer& peer, Clock::time_point now) { peer.last_heard = now; }
  void sent(const std::string& identity, Clock::time_point now);

  struct Sweep {
    std::vector<std::string> silent;     // presumed gone: heard nothing for too long
    std::vector<std::string> heartbeat;  // welcomed, and sent nothing for a heartbeat
  };
  // Says who is silent and who needs a heartbeat at `now` (in the table's iteration order), into
  // `out`, which it clears first. Changes nothing: the caller removes and sends.
  void sweep(Clock::time_point now, std::chrono::milliseconds heartbeat, Sweep& out) const;

  // Calls fn(identity, peer) for every peer. fn must not add or remove peers.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (auto& [identity, peer] : peers_) {
      fn(identity, peer);
    }
  }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [identity, peer] : peers_) {
      fn(identity, peer);
    }
  }
  size_t size() const { return peers_.size(); }

 private:
  std::unordered_map<std::string, Peer> peers_;         // connected, by routing id
  std::unordered_map<std::string, uint64_t> sessions_;  // hellos per routing id, ever
};

}  // namespace simpang::hub
