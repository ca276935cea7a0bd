// Fuzz target: the broker's attribute-only event parser (hub/src/core/wire_codec.cc), which reads
// every published event. It must accept and reject exactly what protobuf's full parse does, and
// agree with it on every attribute it reads.
#include <cstdint>
#include <cstdlib>

#include "core/wire_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  simpang::v1::Event fast;
  simpang::v1::Event full;
  const bool fast_ok = simpang::hub::parse_event_attributes(data, size, fast);
  const bool full_ok = full.ParseFromArray(data, static_cast<int>(size));
  if (fast_ok != full_ok) {
    std::abort();
  }
  if (fast_ok && (fast.id() != full.id() || fast.source() != full.source() ||
                  fast.spec_version() != full.spec_version() || fast.type() != full.type() ||
                  fast.subject() != full.subject() ||
                  fast.extensions().size() != full.extensions().size())) {
    std::abort();
  }
  return 0;
}
