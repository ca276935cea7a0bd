// DedupWindow: the in-memory de-duplication window, checked against a plain reference model.
#include "journal/sqlite/dedup_window.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace simpang::hub::journal_internal {
namespace {

TEST(DedupWindowTest, FindsWhatIsWithinTheWindow) {
  DedupWindow window(100);
  EXPECT_EQ(window.find(42, 0), 0);
  window.add(42, 1, 1000);
  window.add(43, 2, 2000);
  EXPECT_EQ(window.find(42, 1000), 1);
  EXPECT_EQ(window.find(42, 1001), 0);  // received before the window's start
  EXPECT_EQ(window.find(43, 1500), 2);
  EXPECT_EQ(window.find(44, 0), 0);
  window.expire(1500);
  EXPECT_EQ(window.find(42, 0), 0);
  EXPECT_EQ(window.find(43, 0), 2);
  EXPECT_EQ(window.size(), 1u);
}

TEST(DedupWindowTest, TheNewestEventWithAKeyIsRemembered) {
  DedupWindow window(100);
  window.add(7, 1, 1000);
  window.add(7, 2, 5000);  // the same key again (after the window, or a hash collision)
  EXPECT_EQ(window.find(7, 0), 2);
  window.expire(2000);  // the older one goes; the newer stays findable
  EXPECT_EQ(window.find(7, 0), 2);
}

TEST(DedupWindowTest, ForgetsWhatARolledBackTransactionAdded) {
  DedupWindow window(100);
  window.add(1, 10, 1000);
  window.add(2, 11, 1000);
  window.add(3, 12, 1000);
  window.forget_from(11);
  EXPECT_EQ(window.find(1, 0), 10);
  EXPECT_EQ(window.find(2, 0), 0);
  EXPECT_EQ(window.find(3, 0), 0);
  window.add(2, 11, 1000);  // the retried batch gets the same seqs
  EXPECT_EQ(window.find(2, 0), 11);
}

TEST(DedupWindowTest, AtCapacityTheOldestGoFirst) {
  DedupWindow window(1500);
  for (int64_t seq = 1; seq <= 2000; ++seq) {
    window.add(static_cast<uint64_t>(seq) * 7919, seq, seq);
  }
  EXPECT_EQ(window.size(), 1500u);
  EXPECT_EQ(window.find(7919, 0), 0);
  EXPECT_EQ(window.find(501 * 7919, 0), 501);
  EXPECT_EQ(window.find(2000 * 7919, 0), 2000);
}

// Random adds, expiries and rollbacks against a reference; keys from a small range so that probe
// runs collide and deletions shift entries. The contract modelled: a key finds the newest event
// added with it while that event is remembered (an older one with the same key is shadowed for
// good: in the journal it was outside the window, or a hash collision).
TEST(DedupWindowTest, AgreesWithAReferenceModel) {
  DedupWindow window(5000);
  std::map<int64_t, std::pair<uint64_t, int64_t>> remembered;  // seq -> (key, received)
  std::map<uint64_t, int64_t> newest;                          // key -> seq
  auto forget = [&](std::map<int64_t, std::pair<uint64_t, int64_t>>::iterator it) {
    auto found = newest.find(it->second.first);
    if (found != newest.end() && found->second == it->first) {
      newest.erase(found);
    }
    return remembered.erase(it);
  };
  std::mt19937_64 random(12345);
  int64_t seq = 0;
  int64_t now = 0;
  for (int round = 0; round < 200'000; ++round) {
    const int action = static_cast<int>(random() % 100);
    if (action < 90) {
      const uint64_t key = random() % 3000;
      ++seq;
      now += static_cast<int64_t>(random() % 3);
      window.add(key, seq, now);
      remembered[seq] = {key, now};
      newest[key] = seq;
      if (remembered.size() > 5000) {
        forget(remembered.begin());
      }
    } else if (action < 97) {
      const int64_t before = now - static_cast<int64_t>(random() % 2000);
      window.expire(before);
      while (!remembered.empty() && remembered.begin()->second.second < before) {
        forget(remembered.begin());
      }
    } else {
      const int64_t from = seq - static_cast<int64_t>(random() % 20);
      window.forget_from(from);
      for (auto it = remembered.lower_bound(from); it != remembered.end();) {
        it = forget(it);
      }
    }
    const uint64_t probe = random() % 3000;
    const int64_t since = now - static_cast<int64_t>(random() % 1000);
    auto found = newest.find(probe);
    const int64_t expected =
        found != newest.end() && remembered.at(found->second).second >= since ? found->second : 0;
    ASSERT_EQ(window.find(probe, since), expected) << "round " << round;
    ASSERT_EQ(window.size(), remembered.size());
  }
}

}  // namespace
}  // namespace simpang::hub::journal_internal
