// xapi-completion: a transform that turns xAPI statements ("learner X completed course Y"), as
// an LMS's learning record store forwards them, into talent.completion.recorded events.
#pragma once

#include <simpang/sdk/plugin.h>

#include <set>
#include <string>

namespace tutorial {

inline constexpr char kStatementType[] = "xapi.statement.received";
inline constexpr char kCompletionType[] = "talent.completion.recorded";

class XapiCompletion : public simpang::sdk::Transform {
 public:
  // Reads `course_prefix` (required), `certification_courses` (default none) and `source`.
  // Throws simpang::sdk::ConfigError naming the key.
  explicit XapiCompletion(simpang::sdk::Context& ctx);

  // A completed/passed/failed statement: emits the completion, then acks. Other verbs and types:
  // acks. A statement it cannot read: rejects (dead-lettered with the reason). Emit failed:
  // retry_later.
  simpang::sdk::Outcome on_event(simpang::sdk::Context& ctx,
                                 const simpang::v1::Event& event) override;

 private:
  std::string course_prefix_;
  std::set<std::string> certification_courses_;
  std::string source_;
};

}  // namespace tutorial
