#include "simpang/base/uuid.h"

#include <cstdint>
#include <cstdio>
#include <random>

namespace simpang {

std::string random_uuid() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const uint64_t hi = (random() & ~uint64_t{0xf000}) | 0x4000;                      // version 4
  const uint64_t lo = (random() & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);  // variant 1
  char out[37];
  std::snprintf(out, sizeof(out), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return out;
}

}  // namespace simpang
