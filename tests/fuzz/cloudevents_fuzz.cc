// Fuzz target: the CloudEvents JSON reader (sdk/src/cloudevents.cc), fed untrusted input by
// source-jsonl and partner ingress. Whatever it accepts must write back and read again to the same
// event.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <google/protobuf/util/message_differencer.h>

#include "simpang/sdk/cloudevents.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto event = simpang::sdk::from_cloudevents_json(text);
  if (!event.ok()) {
    return 0;  // rejected with a message: fine
  }
  const std::string written = simpang::sdk::to_cloudevents_json(*event);
  auto again = simpang::sdk::from_cloudevents_json(written);
  if (!again.ok()) {
    std::abort();  // we wrote something we cannot read
  }
  const std::string rewritten = simpang::sdk::to_cloudevents_json(*again);
  if (rewritten != written) {
    std::abort();  // writing is not stable across a round trip
  }
  return 0;
}
