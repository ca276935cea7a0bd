// Events for the talent-ledger tests, built as sim-programme builds them (JSON data of the
// simpang.talent.v1 message), with the id and time each test needs.
#pragma once

#include <google/protobuf/util/time_util.h>

#include <string>

#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"
#include "simpang/v1/event.pb.h"

namespace simpang::plugins::talent_ledger::testing {

inline simpang::v1::Event make_event(const std::string& type, const std::string& id,
                                     const std::string& time,
                                     const google::protobuf::Message& data) {
  simpang::v1::Event e;
  e.set_spec_version("1.0");
  e.set_id(id);
  e.set_source("/test/ledger");
  e.set_type(type);
  google::protobuf::util::TimeUtil::FromString(time, e.mutable_time());
  simpang::sdk::set_json_data(e, data);
  return e;
}

inline google::protobuf::Timestamp ts(const std::string& time) {
  google::protobuf::Timestamp t;
  google::protobuf::util::TimeUtil::FromString(time, &t);
  return t;
}

inline simpang::talent::v1::Person person(
    const std::string& id, const std::string& email, const std::string& name = "Siti Lee",
    simpang::talent::v1::Segment segment = simpang::talent::v1::SEGMENT_STUDENT) {
  simpang::talent::v1::Person p;
  p.set_person_id(id);
  p.set_email(email);
  p.set_display_name(name);
  p.set_segment(segment);
  p.set_region("Johor");
  *p.mutable_registered_at() = ts("2025-01-09T00:00:00Z");
  return p;
}

}  // namespace simpang::plugins::talent_ledger::testing
