// An accepted event as the broker keeps it between intake and settlement: its serialized bytes,
// shared by the journal and every destination, and the attributes the delivery path needs (id and
// type for the log, subject for ordering), found by the one parse the event gets on its way in.
//
//   AttributeSpans spans;
//   if (parse_event_attributes(bytes.data(), bytes.size(), scratch, &spans)) {
//     auto record = std::make_shared<const EventRecord>(std::move(bytes), scratch, spans);
//     journal_event.body = EventRecord::shared_body(record);  // no copy, no allocation
//   }
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/wire_codec.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub {

class EventRecord {
 public:
  // An event taken in from a publisher: `body` is moved in; `attributes` and `spans` are what
  // parse_event_attributes() found in it. Where the spans are exact the attributes are read from
  // the body; otherwise (rare) id, type and subject are copied from `attributes`.
  // Thread rule: a record is immutable once made; any thread may read it.
  EventRecord(std::string body, const simpang::v1::Event& attributes, const AttributeSpans& spans);
  // An event paged back from the journal: parsed here, once, with `scratch` (the caller's, reused
  // so paging allocates no message per row). Bytes that do not parse (which the journal never
  // holds, having accepted only valid events) give empty attributes and are still delivered.
  // OWNERSHIP: shares `stored`.
  EventRecord(std::shared_ptr<const std::string> stored, simpang::v1::Event& scratch);

  EventRecord(const EventRecord&) = delete;
  EventRecord& operator=(const EventRecord&) = delete;

  // The serialized simpang.v1.Event.
  const std::string& body() const { return *body_; }
  std::string_view id() const { return spans_.exact ? read(spans_.id) : copies_->id; }
  std::string_view type() const { return spans_.exact ? read(spans_.type) : copies_->type; }
  std::string_view subject() const {
    return spans_.exact ? read(spans_.subject) : copies_->subject;
  }

  // The body as the journal takes it: a pointer that shares ownership of the record, so the
  // journal and the destinations hold one allocation between them.
  static std::shared_ptr<const std::string> shared_body(
      const std::shared_ptr<const EventRecord>& record) {
    return std::shared_ptr<const std::string>(record, &record->body());
  }

 private:
  void keep(const simpang::v1::Event& attributes, const AttributeSpans& spans);
  std::string_view read(const AttributeSpans::Span& span) const {
    return std::string_view(*body_).substr(span.offset, span.size);
  }
  struct Copies {
    std::string id;
    std::string type;
    std::string subject;
  };

  std::string owned_;                          // the body, when taken in from a publisher
  std::shared_ptr<const std::string> stored_;  // the body, when paged from the journal
  const std::string* body_;                    // one of the two
  AttributeSpans spans_;
  // Only when !spans_.exact, which is rare: kept apart so the usual record stays small.
  std::unique_ptr<const Copies> copies_;
};

}  // namespace simpang::hub
