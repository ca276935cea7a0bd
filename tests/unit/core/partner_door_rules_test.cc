// PartnerDoor without a socket: its token buckets (times passed in), what a reload revokes, and
// the rights it checks.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "core/partner_door.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub {
namespace {

using std::chrono::milliseconds;
using Clock = PartnerDoor::Clock;

PartnerConfig partner(const std::string& name, const std::string& key) {
  PartnerConfig p;
  p.name = name;
  p.curve_public_key = key;
  p.types = {"talent.person.*", "talent.course.**"};
  p.source_prefix = "/partners/" + name + "/";
  return p;
}

std::shared_ptr<spdlog::logger> quiet() {
  return std::make_shared<spdlog::logger>("door", std::make_shared<spdlog::sinks::null_sink_mt>());
}

TEST(PartnerDoorRules, WithinOneSecondsQuotaAcksGoAtOnceBeyondItTheyWait) {
  PartnerDoor door(quiet());
  PartnerConfig acme = partner("acme", "k1");
  acme.quotas.events_per_second = 100;
  (void)door.set_partners({acme});
  const Clock::time_point t0 = Clock::now();
  // One second's worth (100 events) is the burst: acked at once.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(door.charge("acme", 10, 0, t0), t0) << "batch " << i;
  }
  EXPECT_EQ(door.counters().acks_delayed, 0u);
  // The next 10 events cost 100 ms at 100/s: their ack waits that long.
  EXPECT_EQ(door.charge("acme", 10, 0, t0), t0 + milliseconds(100));
  EXPECT_EQ(door.charge("acme", 10, 0, t0), t0 + milliseconds(200));
  EXPECT_EQ(door.counters().acks_delayed, 2u);
  // Idle time refills the bucket, never beyond one second's worth.
  const Clock::time_point later = t0 + std::chrono::seconds(10);
  EXPECT_EQ(door.charge("acme", 100, 0, later), later);
  EXPECT_EQ(door.charge("acme", 50, 0, later), later + milliseconds(500));
}

TEST(PartnerDoorRules, TheBytesBucketAloneCanSlowAPartner) {
  PartnerDoor door(quiet());
  PartnerConfig acme = partner("acme", "k1");
  acme.quotas.bytes_per_second = 1000;
  (void)door.set_partners({acme, partner("beta", "k2")});
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(door.charge("acme", 1, 1000, t0), t0);
  EXPECT_EQ(door.charge("acme", 1, 500, t0), t0 + milliseconds(500));
  // A partner without quotas is never slowed.
  EXPECT_EQ(door.charge("beta", 100000, 1u << 30, t0), t0);
}

TEST(PartnerDoorRules, AReloadRevokesRemovedPartnersAndChangedKeysOnly) {
  PartnerDoor door(quiet());
  EXPECT_TRUE(
      door.set_partners({partner("acme", "k1"), partner("beta", "k2"), partner("gamma", "k3")})
          .empty());
  PartnerConfig beta = partner("beta", "k2");
  beta.types = {"talent.**"};  // rights changed, same key: keeps its connections
  std::vector<std::string> revoked =
      door.set_partners({beta, partner("gamma", "k3-new"), partner("delta", "k4")});
  std::sort(revoked.begin(), revoked.end());
  EXPECT_EQ(revoked, (std::vector<std::string>{"acme", "gamma"}));
  EXPECT_EQ(door.keys(), (std::map<std::string, std::string>{
                             {"k2", "beta"}, {"k3-new", "gamma"}, {"k4", "delta"}}));
  EXPECT_EQ(door.find("acme"), nullptr);
}

TEST(PartnerDoorRules, TypesAndSourcesAreChecked) {
  PartnerDoor door(quiet());
  (void)door.set_partners({partner("acme", "k1")});
  simpang::v1::Event event;
  event.set_id("e1");
  event.set_source("/partners/acme/lms");
  event.set_type("talent.person.created");
  EXPECT_EQ(door.refusal("acme", event), "");
  event.set_type("talent.course.module.completed");
  EXPECT_EQ(door.refusal("acme", event), "");
  event.set_type("talent.person");
  EXPECT_EQ(door.refusal("acme", event),
            "event e1: partner 'acme' may not publish type 'talent.person' (allowed: "
            "talent.person.*, talent.course.**)");
  event.set_type("talent.person.created");
  event.set_source("/partners/acmex/lms");
  EXPECT_EQ(door.refusal("acme", event),
            "event e1: partner 'acme' may not claim source '/partners/acmex/lms' (its sources "
            "start with '/partners/acme/')");
  EXPECT_EQ(door.refusal("nobody", event), "'nobody' is not a configured partner");
  EXPECT_EQ(door.counters().events_refused, 3u);
}

TEST(PartnerDoorRules, DoorIdentitiesAreTheirOwnNamespace) {
  const std::string identity = PartnerDoor::door_identity(std::string("\0k\x8b", 3));
  EXPECT_TRUE(PartnerDoor::is_door_identity(identity));
  EXPECT_EQ(PartnerDoor::routing_id_of(identity), std::string("\0k\x8b", 3));
  EXPECT_FALSE(PartnerDoor::is_door_identity(std::string("\0k\x8b", 3)));
  EXPECT_FALSE(PartnerDoor::is_door_identity("acme"));
}

}  // namespace
}  // namespace simpang::hub
