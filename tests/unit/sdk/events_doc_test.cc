// Keeps docs/events.md honest: its example of each event type must be exactly what the code
// produces (sim-programme with seed 42 and instance "sim"; transform-credential with instance
// "credentials"), and must parse back through the SDK into the right talent.v1 message. When the
// generator changes on purpose, this test prints the new examples to paste into the document.
#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "apply.h"
#include "credential_logic.h"
#include "ledger_config.h"
#include "programme_model.h"
#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins {
namespace {

namespace talent = simpang::talent::v1;
using nlohmann::ordered_json;
using simpang::v1::Event;

// The example of each type: the first such event of the run, except that the completion shown is
// the first that earns a certification, and the credential is the one it earns.
std::map<std::string, Event> generated_examples() {
  sim_programme::ProgrammeModel model({.seed = 42, .source = "/simpang/sim-programme/sim"});
  transform_credential::CredentialConfig credential_config;
  credential_config.source = "/simpang/transform-credential/credentials";
  std::map<std::string, Event> examples;
  for (int i = 0; i < 100000 && examples.size() < 7; ++i) {
    const Event e = model.next();
    const auto credential = transform_credential::credential_for(e, credential_config);
    if (e.type() == "talent.completion.recorded") {
      if (credential.ok() && credential->has_value() && examples.count(e.type()) == 0) {
        examples.emplace(e.type(), e);
        examples.emplace((*credential)->type(), **credential);
      }
    } else {
      examples.emplace(e.type(), e);
    }
  }
  return examples;
}

// "### <type>" headings, each followed by a ```json block.
std::map<std::string, std::string> documented_examples() {
  std::ifstream in(std::string(SIMPANG_SOURCE_DIR) + "/docs/events.md");
  std::map<std::string, std::string> blocks;
  std::string line, heading, block;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (in_block) {
      if (line == "```") {
        blocks[heading] = block;
        in_block = false;
      } else {
        block += line + "\n";
      }
    } else if (line.rfind("### ", 0) == 0) {
      heading = line.substr(4);
    } else if (line == "```json" && !heading.empty()) {
      in_block = true;
      block.clear();
    }
  }
  return blocks;
}

std::unique_ptr<google::protobuf::Message> message_for(const std::string& type) {
  static const std::map<std::string, std::function<google::protobuf::Message*()>> kMessages = {
      {"talent.organisation.registered", [] { return new talent::Organisation; }},
      {"talent.course.published", [] { return new talent::Course; }},
      {"talent.person.registered", [] { return new talent::Person; }},
      {"talent.person.updated", [] { return new talent::Person; }},
      {"talent.person.deactivated", [] { return new talent::Person; }},
      {"partner.registered", [] { return new talent::Organisation; }},
      {"partner.updated", [] { return new talent::Organisation; }},
      {"partner.certification.changed", [] { return new talent::Organisation; }},
      {"partner.deregistered", [] { return new talent::Organisation; }},
      {"talent.employment.updated", [] { return new talent::Employment; }},
      {"talent.enrollment.created", [] { return new talent::Enrollment; }},
      {"talent.completion.recorded", [] { return new talent::Completion; }},
      {"talent.credential.issued", [] { return new talent::Credential; }}};
  const auto it = kMessages.find(type);
  return std::unique_ptr<google::protobuf::Message>(it == kMessages.end() ? nullptr : it->second());
}

TEST(EventsDoc, ExamplesAreWhatTheCodeProduces) {
  const auto generated = generated_examples();
  const auto documented = documented_examples();
  ASSERT_EQ(generated.size(), 7u);
  std::ostringstream expected_doc;
  bool all_match = true;
  for (const auto& [type, event] : generated) {
    const ordered_json want = ordered_json::parse(simpang::sdk::to_cloudevents_json(event));
    expected_doc << "### " << type << "\n\n```json\n" << want.dump(2) << "\n```\n\n";
    const auto doc = documented.find(type);
    if (doc == documented.end()) {
      ADD_FAILURE() << "docs/events.md has no example of " << type;
      all_match = false;
      continue;
    }
    if (ordered_json::parse(doc->second) != want) {
      ADD_FAILURE() << "docs/events.md example of " << type << " differs from the code's";
      all_match = false;
    }
  }
  if (!all_match) {
    std::cout << "Examples as the code produces them now:\n\n" << expected_doc.str();
  }
}

TEST(EventsDoc, OneLineFormIsTheFirstEventAsWritten) {
  sim_programme::ProgrammeModel model({.seed = 42, .source = "/simpang/sim-programme/sim"});
  const std::string want = simpang::sdk::to_cloudevents_json(model.next());
  std::ifstream in(std::string(SIMPANG_SOURCE_DIR) + "/docs/events.md");
  bool found = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("{\"specversion\"", 0) == 0) {
      EXPECT_EQ(line, want);
      found = true;
    }
  }
  EXPECT_TRUE(found) << "docs/events.md shows no one-line event; it should be:\n" << want;
}

// Events whose data is plain JSON, not a simpang.talent.v1 message: checked against the code that
// makes them instead.
TEST(EventsDoc, TheLinkExampleIsWhatTheLedgerAnnounces) {
  const auto documented = documented_examples();
  const auto doc = documented.find("talent.person.linked");
  ASSERT_NE(doc, documented.end()) << "docs/events.md has no example of talent.person.linked";
  talent_ledger::Link link;
  link.person_id = "scim-acme-u-17";
  link.other_id = "s42-person-000102";
  link.rule = "email";
  link.evidence = "siti.lee1@student.example.edu.my";
  link.event_id = "scim-acme-u-17-v3";
  link.at_micros = *talent_ledger::parse_date_micros("2025-02-01") + 9 * 3600000000LL +
                   30 * 60000000LL;
  const Event made = talent_ledger::link_event(link, "/simpang/talent-ledger/programme-ledger");
  // Members compared as sets: the ledger writes the data's members in its own order.
  EXPECT_EQ(nlohmann::json::parse(doc->second),
            nlohmann::json::parse(simpang::sdk::to_cloudevents_json(made)));
}

TEST(EventsDoc, ExamplesParseIntoTheirMessages) {
  const auto documented = documented_examples();
  ASSERT_GE(documented.size(), 7u);
  for (const auto& [type, text] : documented) {
    if (type == "talent.person.linked") continue;  // plain JSON data: the test above
    SCOPED_TRACE(type);
    const auto event = simpang::sdk::from_cloudevents_json(text);
    ASSERT_TRUE(event.ok()) << event.status().message();
    EXPECT_EQ(event->type(), type);
    const auto message = message_for(type);
    ASSERT_NE(message, nullptr) << "unknown type";
    const Status s = simpang::sdk::get_json_data(*event, *message);
    EXPECT_TRUE(s.ok()) << s.message();
  }
}

}  // namespace
}  // namespace simpang::plugins
