// A compiled event-type pattern: the grammar of a route's `match.type`, shared with plugins that
// limit the types a client may publish (source-http). Parsed once, matched without allocating.
//
// A pattern is dot-separated segments; each is literal text, `*` (exactly one segment) or `**`
// (zero or more segments). An event type is split on '.' as it is matched.
//
//   StatusOr<TypePattern> p = TypePattern::compile("talent.completion.*");
//   p->matches("talent.completion.recorded");  // true
//   p->matches("talent.completion");           // false
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "simpang/base/status.h"

namespace simpang {

class TypePattern {
 public:
  // Parses and validates `pattern`. The error says what is wrong and in which segment.
  static StatusOr<TypePattern> compile(std::string_view pattern);

  // True when `type` matches. Never allocates. An event type with empty segments ("a..b") is
  // matched as written: its empty segments match `*` and `**` but no literal.
  bool matches(std::string_view type) const;

  // True when the pattern matches every type (it is made only of `**` segments).
  bool matches_everything() const { return kind_ == Kind::kEverything; }

  const std::string& text() const { return text_; }

 private:
  enum class Kind {
    kEverything,  // only `**` segments
    kLiteral,     // no wildcard: one string comparison
    kGeneral,     // segment-by-segment match
  };
  enum class SegmentKind { kLiteral, kOne, kAny };
  struct Segment {
    SegmentKind kind;
    std::string text;  // kLiteral only
  };

  TypePattern() = default;

  std::string text_;
  Kind kind_ = Kind::kGeneral;
  std::vector<Segment> segments_;
};

}  // namespace simpang
