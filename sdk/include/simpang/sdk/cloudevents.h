// CloudEvents JSON (structured content mode, CloudEvents 1.0 JSON event format) for simpang.v1.Event,
// and helpers to carry a simpang.talent.v1 (or any) protobuf message as JSON data.
//
//   std::string line = simpang::sdk::to_cloudevents_json(event);   // one line, no newline
//   auto back = simpang::sdk::from_cloudevents_json(line);          // StatusOr<Event>
#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "simpang/sdk/status.h"
#include "simpang/v1/event.pb.h"

namespace simpang::sdk {

// Renders `event` as one CloudEvents JSON object on one line. Mapping:
//   id, source, specversion, type, subject, time (RFC 3339), datacontenttype, dataschema;
//   extensions as top-level attributes (booleans and integers as JSON values, bytes as base64,
//   timestamps as RFC 3339, the rest as strings);
//   text_data: `data` as the JSON value itself when the content type is JSON (application/json or
//   any +json) and the text parses as JSON, else `data` as a string;
//   binary_data: `data_base64`;
//   proto_data: `data_base64` of the Any's value, with `dataschema` set to the Any's type URL
//   when the event has none.
std::string to_cloudevents_json(const simpang::v1::Event& event);

// Parses one CloudEvents JSON object. Errors name the attribute that is wrong, e.g.
// "attribute 'time': not an RFC 3339 timestamp: '2024-13-01'". Required attributes (id, source,
// specversion "1.0", type) must be present. Unknown attributes become extensions.
StatusOr<simpang::v1::Event> from_cloudevents_json(std::string_view json);

// Sets the event's data to the protobuf JSON mapping of `message`, data_content_type to
// "application/json" and data_schema to "proto:" + the message's full name
// (e.g. "proto:simpang.talent.v1.Completion").
void set_json_data(simpang::v1::Event& event, const google::protobuf::Message& message);

// Parses the event's JSON text data into `message`. Fails, naming the reason, when the event has no
// text data or the JSON does not fit the message; unknown fields are ignored.
Status get_json_data(const simpang::v1::Event& event, google::protobuf::Message& message);

}  // namespace simpang::sdk
