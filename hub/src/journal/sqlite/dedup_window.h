// The de-duplication window, in memory: which (source, id) pairs the journal accepted recently.
// Kept out of the database on purpose: an index on a hash is a random-order B-tree, and every
// insert into it dirties a different page, so at a few thousand events per commit it multiplied
// what each commit writes (see docs/journal.md, "Performance"). The window is rebuilt from the
// events table when the journal opens.
//
//   DedupWindow window(1'000'000);
//   if (int64_t seq = window.find(key, now_ms - window_ms); seq != 0) { /* verify, duplicate */ }
//   window.add(key, new_seq, now_ms);
//
// Thread rule: one thread (the journal's writer). Memory: 40 bytes per remembered event, at most
// `capacity` events; past that the oldest are forgotten early, which only shortens the window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace simpang::hub::journal_internal {

class DedupWindow {
 public:
  explicit DedupWindow(size_t capacity);

  // The seq of the newest remembered event with `key` received at or after `since_ms`, or 0.
  // A hit is a candidate: the caller compares the actual source and id (64-bit hashes collide).
  int64_t find(uint64_t key, int64_t since_ms) const;
  // Remembers an event. REQUIRES: `seq` is larger than every remembered seq.
  void add(uint64_t key, int64_t seq, int64_t received_ms);
  // Forgets events received before `before_ms`.
  void expire(int64_t before_ms);
  // Forgets events with seq >= `seq`: the transaction that added them rolled back.
  void forget_from(int64_t seq);
  size_t size() const { return count_; }

 private:
  struct Entry {
    uint64_t key;
    int64_t seq;
    int64_t received_ms;
  };
  // A ring position + 1 (0: empty), and the key's top bits, so a probe past another key rarely
  // needs to read the ring (a second cache miss).
  struct Slot {
    uint32_t position = 0;
    uint32_t tag = 0;
  };
  static uint32_t tag_of(uint64_t key) { return static_cast<uint32_t>(key >> 32); }

  size_t slot_of(uint64_t key) const;    // first probe position
  size_t find_slot(uint64_t key) const;  // the key's slot, or the empty slot ending its probe run
  void unindex(size_t position);         // removes the slot pointing at ring position `position`
  void grow();                           // doubles the ring (up to capacity_) and rebuilds slots
  void pop_front();

  size_t capacity_;
  std::vector<Entry> ring_;  // oldest at head_, count_ entries, wrapping
  size_t head_ = 0;
  size_t count_ = 0;
  std::vector<Slot> slots_;  // open addressing, linear probing, at most half full
};

}  // namespace simpang::hub::journal_internal
