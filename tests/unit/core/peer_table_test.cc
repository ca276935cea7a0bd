// The peer table on its own: sessions (a stale welcome is recognised), liveness (silent after
// kLivenessIntervals heartbeats, heartbeats owed to welcomed peers only) and the loss reasons a
// supervisor hears of. Times are passed in: nothing waits.
#include "core/peer_table.h"

#include <gtest/gtest.h>

namespace simpang::hub {
namespace {

using std::chrono::milliseconds;
using Clock = PeerTable::Clock;

constexpr milliseconds kHeartbeat(1000);

PeerTable::Peer peer(const std::string& instance, bool welcomed = true) {
  PeerTable::Peer p;
  p.instance = instance;
  p.welcomed = welcomed;
  return p;
}

TEST(PeerTableTest, ALaterHelloMakesTheEarlierSessionStale) {
  PeerTable peers;
  const Clock::time_point t0{};
  const uint64_t first = peers.add("sink", peer("sink"), t0);
  EXPECT_TRUE(peers.is_session("sink", first));
  ASSERT_TRUE(peers.remove("sink").has_value());
  EXPECT_FALSE(peers.is_session("sink", first)) << "gone";
  const uint64_t second = peers.add("sink", peer("sink"), t0);
  EXPECT_NE(first, second);
  EXPECT_FALSE(peers.is_session("sink", first));
  EXPECT_TRUE(peers.is_session("sink", second));
  EXPECT_FALSE(peers.remove("nobody").has_value());
}

TEST(PeerTableTest, APeerHeardFromLessThanThreeHeartbeatsAgoIsAlive) {
  PeerTable peers;
  const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
  peers.add("a", peer("a"), t0);
  peers.add("b", peer("b"), t0);
  PeerTable::heard(*peers.find("b"), t0 + kHeartbeat * 2);

  PeerTable::Sweep due;
  peers.sweep(t0 + kHeartbeat * PeerTable::kLivenessIntervals, kHeartbeat, due);
  EXPECT_TRUE(due.silent.empty()) << "exactly three intervals is not yet silent";

  peers.sweep(t0 + kHeartbeat * PeerTable::kLivenessIntervals + milliseconds(1), kHeartbeat, due);
  EXPECT_EQ(due.silent, std::vector<std::string>{"a"});
  EXPECT_TRUE(peers.contains("a")) << "the sweep only says; the broker removes";
}

TEST(PeerTableTest, HeartbeatsGoToWelcomedPeersTheHubHasNotSentToForAnInterval) {
  PeerTable peers;
  const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
  peers.add("welcomed", peer("welcomed"), t0);
  peers.add("waiting", peer("waiting", /*welcomed=*/false), t0);
  peers.add("busy", peer("busy"), t0);

  PeerTable::Sweep due;
  peers.sweep(t0 + kHeartbeat - milliseconds(1), kHeartbeat, due);
  EXPECT_TRUE(due.heartbeat.empty());

  peers.sent("busy", t0 + milliseconds(500));
  peers.sweep(t0 + kHeartbeat, kHeartbeat, due);
  EXPECT_EQ(due.heartbeat, std::vector<std::string>{"welcomed"})
      << "not before its welcome, not when something else was sent meanwhile";
  EXPECT_TRUE(due.silent.empty());
}

TEST(PeerTableTest, OnlyUnexpectedLossesAreForASupervisor) {
  EXPECT_FALSE(is_unexpected(PeerLoss::kGoodbye));
  EXPECT_FALSE(is_unexpected(PeerLoss::kHelloAgain));
  EXPECT_TRUE(is_unexpected(PeerLoss::kUnreachable));
  EXPECT_TRUE(is_unexpected(PeerLoss::kSilent));
  EXPECT_STREQ(describe(PeerLoss::kSilent), "went silent");
  EXPECT_STREQ(describe(PeerLoss::kUnreachable), "became unreachable");
}

TEST(PeerTableTest, AHelloIsRefusedWithWhatWasWrong) {
  const HelloCheck good{.instance = "sink",
                        .protocol = 3,
                        .hub_protocol = 3,
                        .configured = true,
                        .token_issued = true,
                        .token_matches = true};
  EXPECT_EQ(hello_refusal(good), "");
  HelloCheck old_peer = good;
  old_peer.protocol = 2;
  EXPECT_EQ(hello_refusal(old_peer),
            "wire protocol 2 is not supported; this hub speaks wire protocol 3 (rebuild the peer "
            "against a matching SDK)");
  HelloCheck ghost = good;
  ghost.instance = "ghost";
  ghost.configured = false;
  EXPECT_EQ(hello_refusal(ghost), "instance 'ghost' is not in the hub's configuration");
  HelloCheck not_started = good;
  not_started.token_issued = false;
  not_started.token_matches = false;
  EXPECT_EQ(hello_refusal(not_started),
            "instance 'sink' is not running: the hub has not started it");
  HelloCheck impostor = good;
  impostor.token_matches = false;
  EXPECT_EQ(hello_refusal(impostor),
            "hello for instance 'sink' does not carry the token the hub issued to its current run");
}

TEST(PeerTableTest, ARefusalQuotesANameSafely) {
  HelloCheck odd{.instance = "a\nb\x01", .protocol = 3, .hub_protocol = 3};
  EXPECT_EQ(hello_refusal(odd), "instance 'a\\x0ab\\x01' is not in the hub's configuration");
  odd.instance = std::string_view("x\x01y", 3);
  EXPECT_EQ(hello_refusal(odd), "instance 'x\\x01y' is not in the hub's configuration");
}

TEST(PeerTableTest, TokensCompareWholly) {
  EXPECT_TRUE(same_token("0123abcd", "0123abcd"));
  EXPECT_FALSE(same_token("0123abce", "0123abcd"));
  EXPECT_FALSE(same_token("0123abc", "0123abcd"));
  EXPECT_FALSE(same_token("", "0123abcd"));
}

TEST(PeerTableTest, APeerIsFoundByTheInstanceItSaidHelloAs) {
  PeerTable peers;
  PeerTable::Peer peer;
  peer.instance = "sink";
  peers.add("sink#4f1c", peer, PeerTable::Clock::now());
  ASSERT_NE(peers.identity_of("sink"), nullptr);
  EXPECT_EQ(*peers.identity_of("sink"), "sink#4f1c");
  EXPECT_EQ(peers.identity_of("source"), nullptr);
  peers.remove("sink#4f1c");
  EXPECT_EQ(peers.identity_of("sink"), nullptr);
}

}  // namespace
}  // namespace simpang::hub
