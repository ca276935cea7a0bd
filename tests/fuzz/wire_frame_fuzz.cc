// Fuzz target: the hub's reading of a peer's message as a wire Frame (hub/src/core/wire_codec.cc,
// parse_frame), the first thing the broker does with any bytes on its socket. Whatever the bytes,
// it returns a frame or a reason; a frame it returns writes out and reads back to the same frame
// and the same bytes; a Deliver frame encoded by the broker's own hand-written encoder is
// byte for byte what protobuf writes and reads back to the same deliveries; and each event of a
// Publish frame is accepted by the broker's attribute scan exactly when protobuf accepts it.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire_codec.h"

namespace {

namespace wire = simpang::v1::wire;

[[noreturn]] void violated(const char* rule) {
  std::fprintf(stderr, "wire_frame fuzz: %s\n", rule);
  std::abort();
}

// Deterministic, so map fields (cursors, metrics) come out in one order every time.
std::string serialize(const wire::Frame& frame) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!frame.SerializeToCodedStream(&coded)) {
      violated("a parsed frame does not serialize");
    }
  }
  return out;
}

bool same(const wire::Frame& a, const wire::Frame& b) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);  // Metrics values may be NaN; NaN != NaN otherwise
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  return differencer.Compare(a, b);
}

// The broker's Deliver encoder (write_deliver_header / write_delivery) over the deliveries of a
// parsed frame, against protobuf's own encoding of the same deliveries.
void check_deliver_encoder(const wire::Deliver& parsed) {
  wire::Frame clean;        // the deliveries' known fields only: the encoder writes nothing else
  clean.mutable_deliver();  // set even with no deliveries: the encoder writes its header
  size_t body = 0;
  for (const wire::Delivery& d : parsed.deliveries()) {
    wire::Delivery* copy = clean.mutable_deliver()->add_deliveries();
    copy->set_delivery_id(d.delivery_id());
    copy->set_event(d.event());
    copy->set_attempt(d.attempt());
    copy->set_route(d.route());
    body += simpang::hub::delivery_encoded_size(d.delivery_id(), d.event().size(), d.attempt(),
                                                d.route().size());
  }
  std::vector<uint8_t> encoded(simpang::hub::deliver_header_size(body) + body);
  uint8_t* out = simpang::hub::write_deliver_header(encoded.data(), body);
  for (const wire::Delivery& d : parsed.deliveries()) {
    out = simpang::hub::write_delivery(out, d.delivery_id(), d.event(), d.attempt(), d.route());
  }
  if (out != encoded.data() + encoded.size()) {
    violated("the Deliver encoder wrote another number of bytes than it computed");
  }
  const std::string expected = serialize(clean);
  if (expected.size() != encoded.size() ||
      std::memcmp(expected.data(), encoded.data(), encoded.size()) != 0) {
    violated("the Deliver encoder's bytes are not protobuf's");
  }
  wire::Frame again;
  if (simpang::hub::parse_frame(encoded.data(), encoded.size(), again) != nullptr ||
      !same(again, clean)) {
    violated("an encoded Deliver frame does not read back to its deliveries");
  }
}

void check_publish_events(const wire::Publish& publish) {
  for (const std::string& bytes : publish.events()) {
    simpang::v1::Event fast;
    simpang::v1::Event full;
    const bool fast_ok = simpang::hub::parse_event_attributes(bytes.data(), bytes.size(), fast);
    if (fast_ok != full.ParseFromString(bytes)) {
      violated("the attribute scan and protobuf disagree on a published event");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wire::Frame frame;
  const char* why = simpang::hub::parse_frame(data, size, frame);
  if (why != nullptr) {
    if (std::strcmp(why, "not a simpang.v1.wire.Frame") != 0 &&
        std::strcmp(why, "a Frame with no body") != 0) {
      violated("a refusal the broker does not document");
    }
    return 0;
  }
  if (frame.body_case() == wire::Frame::BODY_NOT_SET) {
    violated("a frame with no body accepted");
  }
  const std::string written = serialize(frame);
  wire::Frame again;
  if (simpang::hub::parse_frame(written.data(), written.size(), again) != nullptr) {
    violated("a frame protobuf wrote does not read back");
  }
  if (!same(frame, again)) {
    violated("a frame reads back different");
  }
  if (serialize(again) != written) {
    violated("writing a frame is not stable across a round trip");
  }
  if (frame.has_deliver()) {
    check_deliver_encoder(frame.deliver());
  }
  if (frame.has_publish()) {
    check_publish_events(frame.publish());
  }
  return 0;
}
