// The in-memory de-duplication window; see dedup_window.h.
#include "journal/sqlite/dedup_window.h"

#include <algorithm>
#include <utility>

namespace simpang::hub::journal_internal {
namespace {

constexpr size_t kInitialRing = 1024;

// The keys are FNV-1a hashes; a finalizer spreads them over the low bits the table uses.
uint64_t mix(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ull;
  key ^= key >> 33;
  return key;
}

}  // namespace

DedupWindow::DedupWindow(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

size_t DedupWindow::slot_of(uint64_t key) const { return mix(key) & (slots_.size() - 1); }

size_t DedupWindow::find_slot(uint64_t key) const {
  const uint32_t tag = tag_of(key);
  size_t slot = slot_of(key);
  while (slots_[slot].position != 0 &&
         (slots_[slot].tag != tag || ring_[slots_[slot].position - 1].key != key)) {
    slot = (slot + 1) & (slots_.size() - 1);
  }
  return slot;
}

int64_t DedupWindow::find(uint64_t key, int64_t since_ms) const {
  if (count_ == 0) {
    return 0;
  }
  const uint32_t position = slots_[find_slot(key)].position;
  if (position == 0) {
    return 0;
  }
  const Entry& entry = ring_[position - 1];
  return entry.received_ms >= since_ms ? entry.seq : 0;
}

void DedupWindow::add(uint64_t key, int64_t seq, int64_t received_ms) {
  if (count_ == ring_.size()) {
    if (ring_.size() < capacity_) {
      grow();
    } else {
      pop_front();  // full: the oldest goes early
    }
  }
  const size_t position = (head_ + count_) % ring_.size();
  ring_[position] = Entry{key, seq, received_ms};
  ++count_;
  // The newest event with a key is the one remembered; an older one with the same key (outside
  // the window, or a hash collision) stays in the ring only until it expires.
  slots_[find_slot(key)] = Slot{static_cast<uint32_t>(position + 1), tag_of(key)};
}

void DedupWindow::unindex(size_t position) {
  size_t slot = find_slot(ring_[position].key);
  if (slots_[slot].position != position + 1) {
    return;  // a newer entry with the same key owns the slot
  }
  // Backward-shift deletion keeps every probe run unbroken without tombstones.
  const size_t mask = slots_.size() - 1;
  size_t next = (slot + 1) & mask;
  while (slots_[next].position != 0) {
    const size_t home = slot_of(ring_[slots_[next].position - 1].key);
    // Move `next` into the hole when its home is not within (slot, next].
    if (((next - home) & mask) >= ((next - slot) & mask)) {
      slots_[slot] = slots_[next];
      slot = next;
    }
    next = (next + 1) & mask;
  }
  slots_[slot] = Slot{};
}

void DedupWindow::pop_front() {
  unindex(head_);
  head_ = (head_ + 1) % ring_.size();
  --count_;
}

void DedupWindow::expire(int64_t before_ms) {
  while (count_ > 0 && ring_[head_].received_ms < before_ms) {
    pop_front();
  }
}

void DedupWindow::forget_from(int64_t seq) {
  while (count_ > 0) {
    const size_t last = (head_ + count_ - 1) % ring_.size();
    if (ring_[last].seq < seq) {
      return;
    }
    unindex(last);
    --count_;
  }
}

void DedupWindow::grow() {
  const size_t size = std::min(capacity_, std::max(kInitialRing, ring_.size() * 2));
  std::vector<Entry> ring(size);
  for (size_t i = 0; i < count_; ++i) {
    ring[i] = ring_[(head_ + i) % ring_.size()];
  }
  ring_ = std::move(ring);
  head_ = 0;
  size_t slots = 1;
  while (slots < size * 2) {
    slots *= 2;
  }
  slots_.assign(slots, Slot{});
  for (size_t i = 0; i < count_; ++i) {
    slots_[find_slot(ring_[i].key)] = Slot{static_cast<uint32_t>(i + 1), tag_of(ring_[i].key)};
  }
}

}  // namespace simpang::hub::journal_internal
