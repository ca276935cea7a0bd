// Fuzz target: the broker's attribute-only event parser (hub/src/core/wire_codec.cc), which reads
// every published event. It must accept and reject exactly what protobuf's full parse does, and
// agree with it on every attribute it reads, and where it says it knows where id, type and subject
// lie in the bytes (the broker reads them from there later), those bytes must be the values.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/wire_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  simpang::v1::Event fast;
  simpang::v1::Event full;
  simpang::hub::AttributeSpans spans;
  const bool fast_ok = simpang::hub::parse_event_attributes(data, size, fast, &spans);
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
  if (fast_ok && spans.exact) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto at = [&](const simpang::hub::AttributeSpans::Span& span) {
      if (span.offset > size || span.size > size - span.offset) {
        std::abort();
      }
      return bytes.substr(span.offset, span.size);
    };
    if (at(spans.id) != full.id() || at(spans.type) != full.type() ||
        at(spans.subject) != full.subject()) {
      std::abort();
    }
  }
  return 0;
}
