#include "core/wire_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/common.h>

#include <cstring>

namespace simpang::hub {
namespace {

using google::protobuf::io::CodedOutputStream;

constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

// A reader over protobuf wire bytes that is never more lenient than protobuf's own parser: it
// accepts a subset of what that parser accepts (canonical-size tags, lengths and varints) and
// reports anything else as a failure, on which the caller defers to the full parse.
class Reader {
 public:
  Reader(const uint8_t* begin, const uint8_t* end) : p_(begin), end_(end) {}

  bool done() const { return p_ == end_; }
  const uint8_t* position() const { return p_; }

  // A tag of at most 32 bits in at most 5 bytes, with a field number other than 0.
  bool tag(uint32_t& out) {
    uint64_t value = 0;
    if (!varint(value, 5) || value > UINT32_MAX || (value >> 3) == 0) {
      return false;
    }
    out = static_cast<uint32_t>(value);
    return true;
  }
  // A varint of at most `max_bytes` bytes (10 for a value) whose value fits 64 bits.
  bool varint(uint64_t& out, int max_bytes = 10) {
    uint64_t value = 0;
    for (int i = 0; i < max_bytes && p_ != end_; ++i) {
      const uint8_t byte = *p_++;
      if (i == 9 && byte > 1) {
        return false;  // more than 64 bits
      }
      value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        out = value;
        return true;
      }
    }
    return false;
  }
  // A length-delimited value: a length below 2 GiB (as protobuf requires) within the input.
  bool length_delimited(std::string_view& out) {
    uint64_t length = 0;
    if (!varint(length, 5) || length > INT32_MAX || length > static_cast<uint64_t>(end_ - p_)) {
      return false;
    }
    out = std::string_view(reinterpret_cast<const char*>(p_), length);
    p_ += length;
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

Reader reader_of(std::string_view bytes) {
  const auto* begin = reinterpret_cast<const uint8_t*>(bytes.data());
  return Reader(begin, begin + bytes.size());
}

// proto3 string fields must hold valid UTF-8, or protobuf refuses the whole message. Attributes
// are nearly always ASCII, which is valid UTF-8 and checked eight bytes at a time first.
bool valid_utf8(std::string_view text) {
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof(word));
    if ((word & 0x8080808080808080ULL) != 0) {
      break;
    }
  }
  for (; i < text.size(); ++i) {
    if (static_cast<uint8_t>(text[i]) >= 0x80) {
      return google::protobuf::internal::IsStructurallyValidUTF8(text.data() + i,
                                                                 static_cast<int>(text.size() - i));
    }
  }
  return true;
}

// google.protobuf.Timestamp: seconds (1) and nanos (2), both varints.
bool valid_timestamp(std::string_view bytes) {
  Reader in = reader_of(bytes);
  while (!in.done()) {
    uint32_t tag = 0;
    uint64_t value = 0;
    if (!in.tag(tag) || (tag >> 3) > 2 || (tag & 7) != kVarint || !in.varint(value)) {
      return false;
    }
  }
  return true;
}

// google.protobuf.Any: type_url (1, a string) and value (2, bytes).
bool valid_any(std::string_view bytes) {
  Reader in = reader_of(bytes);
  while (!in.done()) {
    uint32_t tag = 0;
    std::string_view value;
    if (!in.tag(tag) || (tag >> 3) > 2 || (tag & 7) != kLengthDelimited ||
        !in.length_delimited(value) || ((tag >> 3) == 1 && !valid_utf8(value))) {
      return false;
    }
  }
  return true;
}

// What the fast path found: a valid Event, certainly not one (a string field holds invalid
// UTF-8, which protobuf's parse refuses too, after printing its own error line), or not sure.
enum class Scan { kValid, kInvalid, kUnsure };

// An extensions map entry: key (1) a string, value (2) an AttributeValue whose ce_string (3),
// ce_uri (5) and ce_uri_ref (6) are strings. False only when one of those strings is certainly
// invalid UTF-8; anything unusual is left to protobuf's parser (true).
bool map_entry_strings_valid(std::string_view entry) {
  Reader in = reader_of(entry);
  while (!in.done()) {
    uint32_t tag = 0;
    std::string_view value;
    if (!in.tag(tag) || (tag & 7) != kLengthDelimited || !in.length_delimited(value)) {
      return true;
    }
    if ((tag >> 3) == 1 && !valid_utf8(value)) {
      return false;
    }
    if ((tag >> 3) == 2) {
      Reader attr = reader_of(value);
      while (!attr.done()) {
        uint32_t attr_tag = 0;
        uint64_t number = 0;
        std::string_view text;
        if (!attr.tag(attr_tag)) {
          return true;
        }
        if ((attr_tag & 7) == kVarint) {
          if (!attr.varint(number)) {
            return true;
          }
          continue;
        }
        if ((attr_tag & 7) != kLengthDelimited || !attr.length_delimited(text)) {
          return true;
        }
        const uint32_t field = attr_tag >> 3;
        if ((field == 3 || field == 5 || field == 6) && !valid_utf8(text)) {
          return false;
        }
      }
    }
  }
  return true;
}

// The fast path of parse_event_attributes().
Scan scan_event(const uint8_t* begin, const uint8_t* end, simpang::v1::Event& event,
                AttributeSpans& spans) {
  Reader in(begin, end);
  while (!in.done()) {
    const uint8_t* field_begin = in.position();
    uint32_t tag = 0;
    std::string_view value;
    // Every field of Event is length-delimited; any other wire type is an unknown field, which
    // the full parse handles.
    if (!in.tag(tag) || (tag & 7) != kLengthDelimited || !in.length_delimited(value)) {
      return Scan::kUnsure;
    }
    switch (tag >> 3) {
      case 1:
      case 2:
      case 3:
      case 4:
      case 5: {
        if (!valid_utf8(value)) {
          return Scan::kInvalid;
        }
        std::string* target = nullptr;
        AttributeSpans::Span* span = nullptr;
        switch (tag >> 3) {
          case 1:
            target = event.mutable_id();
            span = &spans.id;
            break;
          case 2:
            target = event.mutable_source();
            break;
          case 3:
            target = event.mutable_spec_version();
            break;
          case 4:
            target = event.mutable_type();
            span = &spans.type;
            break;
          default:
            target = event.mutable_subject();
            span = &spans.subject;
            break;
        }
        target->assign(value);  // a repeated field: the last one wins, as in protobuf
        if (span != nullptr) {
          // Below 2 GiB: parse_event_attributes refuses larger inputs before scanning.
          span->offset = static_cast<uint32_t>(reinterpret_cast<const uint8_t*>(value.data()) - begin);
          span->size = static_cast<uint32_t>(value.size());
        }
        break;
      }
      case 6:  // time
        if (!valid_timestamp(value)) {
          return Scan::kUnsure;
        }
        break;
      case 7:   // data_content_type
      case 8:   // data_schema
      case 11:  // text_data
        if (!valid_utf8(value)) {
          return Scan::kInvalid;
        }
        break;
      case 9: {  // one extensions map entry: protobuf's own parser, on just this field
        if (!map_entry_strings_valid(value)) {
          return Scan::kInvalid;
        }
        google::protobuf::io::ArrayInputStream entry(field_begin,
                                                     static_cast<int>(in.position() - field_begin));
        if (!event.MergeFromBoundedZeroCopyStream(&entry,
                                                  static_cast<int>(in.position() - field_begin))) {
          return Scan::kUnsure;
        }
        break;
      }
      case 10:  // binary_data: any bytes
        break;
      case 12:  // proto_data
        if (!valid_any(value)) {
          return Scan::kUnsure;
        }
        break;
      default:
        return Scan::kUnsure;  // an unknown field
    }
  }
  return Scan::kValid;
}

// Delivery's fields in proto3 form: each omitted at its default.
size_t delivery_body_size(uint64_t delivery_id, size_t event_size, uint32_t attempt,
                          size_t route_size) {
  size_t body = 0;
  if (delivery_id != 0) {
    body += 1 + CodedOutputStream::VarintSize64(delivery_id);
  }
  if (event_size != 0) {
    body += 1 + CodedOutputStream::VarintSize64(event_size) + event_size;
  }
  if (attempt != 0) {
    body += 1 + CodedOutputStream::VarintSize32(attempt);
  }
  if (route_size != 0) {
    body += 1 + CodedOutputStream::VarintSize64(route_size) + route_size;
  }
  return body;
}

}  // namespace

const char* parse_frame(const void* data, size_t size, simpang::v1::wire::Frame& frame) {
  if (size > static_cast<size_t>(INT32_MAX) ||
      !frame.ParseFromArray(data, static_cast<int>(size))) {
    return "not a simpang.v1.wire.Frame";
  }
  if (frame.body_case() == simpang::v1::wire::Frame::BODY_NOT_SET) {
    return "a Frame with no body";
  }
  return nullptr;
}

bool parse_event_attributes(const void* data, size_t size, simpang::v1::Event& event,
                            AttributeSpans* spans) {
  if (size > static_cast<size_t>(INT32_MAX)) {
    return false;  // protobuf parses nothing of 2 GiB or more
  }
  event.Clear();
  const auto* begin = static_cast<const uint8_t*>(data);
  AttributeSpans found;
  const Scan scan = scan_event(begin, begin + size, event, found);
  if (scan == Scan::kValid) {
    if (spans != nullptr) {
      *spans = found;
      spans->exact = true;
    }
    return true;
  }
  if (spans != nullptr) {
    *spans = AttributeSpans{};  // the full parse says nothing of where the values lie
  }
  if (scan == Scan::kInvalid) {
    event.Clear();
    return false;  // what the full parse would say, without its error line for a peer's bytes
  }
  // Invalid, or unusual enough that the scan would not decide: protobuf's parser says which.
  return event.ParseFromArray(data, static_cast<int>(size));
}

size_t delivery_encoded_size(uint64_t delivery_id, size_t event_size, uint32_t attempt,
                             size_t route_size) {
  const size_t body = delivery_body_size(delivery_id, event_size, attempt, route_size);
  return 1 + CodedOutputStream::VarintSize64(body) + body;
}

size_t deliver_header_size(size_t deliveries_size) {
  // Frame.deliver (field 7) holding Deliver, whose only field is the deliveries.
  return 1 + CodedOutputStream::VarintSize64(deliveries_size);
}

uint8_t* write_deliver_header(uint8_t* out, size_t deliveries_size) {
  *out++ = (7 << 3) | kLengthDelimited;
  return CodedOutputStream::WriteVarint64ToArray(deliveries_size, out);
}

uint8_t* write_delivery(uint8_t* out, uint64_t delivery_id, std::string_view event,
                        uint32_t attempt, std::string_view route) {
  const size_t body = delivery_body_size(delivery_id, event.size(), attempt, route.size());
  *out++ = (1 << 3) | kLengthDelimited;  // Deliver.deliveries
  out = CodedOutputStream::WriteVarint64ToArray(body, out);
  if (delivery_id != 0) {
    *out++ = (1 << 3) | kVarint;
    out = CodedOutputStream::WriteVarint64ToArray(delivery_id, out);
  }
  if (!event.empty()) {
    *out++ = (2 << 3) | kLengthDelimited;
    out = CodedOutputStream::WriteVarint64ToArray(event.size(), out);
    std::memcpy(out, event.data(), event.size());
    out += event.size();
  }
  if (attempt != 0) {
    *out++ = (3 << 3) | kVarint;
    out = CodedOutputStream::WriteVarint32ToArray(attempt, out);
  }
  if (!route.empty()) {
    *out++ = (4 << 3) | kLengthDelimited;
    out = CodedOutputStream::WriteVarint64ToArray(route.size(), out);
    std::memcpy(out, route.data(), route.size());
    out += route.size();
  }
  return out;
}

}  // namespace simpang::hub
