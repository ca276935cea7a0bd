#include "simpang/base/type_pattern.h"

#include <cstddef>
#include <utility>

namespace simpang {
namespace {

std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

}  // namespace

StatusOr<TypePattern> TypePattern::compile(std::string_view pattern) {
  if (pattern.empty()) {
    return Status::Error("type pattern is empty (use \"**\" to match every type)");
  }
  TypePattern result;
  result.text_ = std::string(pattern);
  bool any_wildcard = false;
  bool only_any = true;
  size_t index = 1;  // segment numbers in messages count from 1, like columns
  for (size_t start = 0; start <= pattern.size(); ++index) {
    size_t end = pattern.find('.', start);
    if (end == std::string_view::npos) {
      end = pattern.size();
    }
    std::string_view segment = pattern.substr(start, end - start);
    start = end + 1;
    const std::string where =
        "type pattern " + quoted(pattern) + ": segment " + std::to_string(index);
    if (segment.empty()) {
      return Status::Error(where +
                           " is empty (a pattern cannot start or end with '.' or contain '..')");
    }
    if (segment == "*" || segment == "**") {
      any_wildcard = true;
      const SegmentKind kind = segment == "*" ? SegmentKind::kOne : SegmentKind::kAny;
      only_any = only_any && kind == SegmentKind::kAny;
      result.segments_.push_back(Segment{kind, {}});
      continue;
    }
    if (segment.find('*') != std::string_view::npos) {
      if (segment.find_first_not_of('*') == std::string_view::npos) {
        return Status::Error(where + " " + quoted(segment) +
                             " is not a wildcard: use \"*\" for exactly one segment or \"**\" for "
                             "any number of segments");
      }
      return Status::Error(where + " " + quoted(segment) +
                           " mixes '*' with other characters; wildcards must be whole segments");
    }
    only_any = false;
    result.segments_.push_back(Segment{SegmentKind::kLiteral, std::string(segment)});
  }
  if (only_any) {
    result.kind_ = Kind::kEverything;
  } else if (!any_wildcard) {
    result.kind_ = Kind::kLiteral;
  } else {
    result.kind_ = Kind::kGeneral;
  }
  return result;
}

bool TypePattern::matches(std::string_view type) const {
  switch (kind_) {
    case Kind::kEverything:
      return true;
    case Kind::kLiteral:
      return type == text_;
    case Kind::kGeneral:
      break;
  }
  // Wildcard matching over segments, with `*` as "any one" and `**` as "any run". Greedy with a
  // single backtrack point: on a mismatch, the most recent `**` absorbs one more segment. That is
  // enough (an earlier `**` never needs to grow once a later one has matched), so the cost is
  // O(segments of type x segments of pattern) at worst and linear in the common case.
  //
  // `pos` is where the current type segment starts; `done` means every segment was consumed
  // (the type "" is one empty segment, so done is size() + 1 rather than size()).
  constexpr size_t kNone = static_cast<size_t>(-1);
  const size_t done = type.size() + 1;
  auto segment_end = [type](size_t start) {
    const size_t end = type.find('.', start);
    return end == std::string_view::npos ? type.size() : end;
  };
  const size_t count = segments_.size();
  size_t p = 0;
  size_t pos = 0;
  size_t any_p = kNone;  // index of the last `**` seen
  size_t any_pos = 0;    // where the type stood when it was seen (plus what it absorbed since)
  while (pos != done) {
    const size_t end = segment_end(pos);
    if (p < count) {
      const Segment& s = segments_[p];
      if (s.kind == SegmentKind::kAny) {
        any_p = p++;
        any_pos = pos;
        continue;
      }
      if (s.kind == SegmentKind::kOne || type.substr(pos, end - pos) == s.text) {
        ++p;
        pos = end + 1;
        continue;
      }
    }
    if (any_p == kNone) {
      return false;
    }
    p = any_p + 1;
    any_pos = segment_end(any_pos) + 1;
    pos = any_pos;
  }
  while (p < count && segments_[p].kind == SegmentKind::kAny) {
    ++p;
  }
  return p == count;
}

}  // namespace simpang
