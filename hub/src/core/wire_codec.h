// The broker's wire codec: reading a peer's message as a Frame, reading what routing needs from a
// published event without copying its data, and encoding a Deliver frame straight into the buffer
// that goes on the wire. All produce or accept exactly what protobuf would
// (simpang/v1/event.proto, simpang/v1/wire.proto); they only skip protobuf's intermediate message
// objects and copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "simpang/v1/event.pb.h"
#include "simpang/v1/wire.pb.h"

namespace simpang::hub {

// Reads one message a peer sent (data[0..size)) into `frame`. Returns nullptr when `frame` now
// holds a frame of the protocol, else why the message is not one, for the peer's Refused and the
// log: "not a simpang.v1.wire.Frame" (not protobuf, or over protobuf's 2 GiB) or "a Frame with no
// body" (an empty message parses as an empty Frame, and is no more a frame than garbage is).
// Thread rule: none (`frame` is the caller's).
[[nodiscard]] const char* parse_frame(const void* data, size_t size,
                                      simpang::v1::wire::Frame& frame);

// Where three attributes of a serialized event lie in its bytes, so that what keeps the bytes can
// read them later without parsing again. `exact` is false when the bytes took protobuf's full
// parse (an unusual encoding), which reports no positions: the caller copies the values instead.
struct AttributeSpans {
  struct Span {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  Span id;
  Span type;
  Span subject;
  bool exact = false;
};

// Parses the attributes of the serialized simpang.v1.Event in data[0..size) into `event`: id,
// source, spec_version, type, subject and extensions (fields 1-5 and 9), the ones the hub validates
// and routes on. The other fields (time, datacontenttype, dataschema, the data) are checked but
// not copied, and are absent from `event` unless an unusual encoding made it parse in full.
// Returns false exactly when `event.ParseFromArray(data, size)` would: when in doubt (unknown
// fields, odd wire types, any malformation) it defers to that full parse. Invalid UTF-8 in a
// string field it decides itself, so a peer's bytes never make protobuf print its own error.
// When `spans` is given, it also says where id, type and subject lie in data[0..size) (see
// AttributeSpans); an absent attribute has an empty span.
// Thread rule: none (`event` and `spans` are the caller's).
[[nodiscard]] bool parse_event_attributes(const void* data, size_t size, simpang::v1::Event& event,
                                          AttributeSpans* spans = nullptr);

// A Deliver frame, encoded by hand: Frame{deliver: Deliver{deliveries: [Delivery...]}}. Usage:
//   size_t body = 0;
//   for (each delivery) body += delivery_encoded_size(...);
//   buffer of deliver_header_size(body) + body bytes;
//   uint8_t* out = write_deliver_header(buffer, body);
//   for (each delivery) out = write_delivery(out, ...);
// Fields at their proto3 defaults (0, empty) are omitted, as protobuf does.

// Bytes one element of Deliver.deliveries takes (its tag and length included).
size_t delivery_encoded_size(uint64_t delivery_id, size_t event_size, uint32_t attempt,
                             size_t route_size);
// Bytes the Frame and Deliver headers take in front of `deliveries_size` bytes of deliveries.
size_t deliver_header_size(size_t deliveries_size);
// REQUIRES: room for deliver_header_size(deliveries_size) bytes at `out`. Returns the end.
uint8_t* write_deliver_header(uint8_t* out, size_t deliveries_size);
// REQUIRES: room for delivery_encoded_size(...) bytes at `out`. Returns the end.
uint8_t* write_delivery(uint8_t* out, uint64_t delivery_id, std::string_view event,
                        uint32_t attempt, std::string_view route);

}  // namespace simpang::hub
