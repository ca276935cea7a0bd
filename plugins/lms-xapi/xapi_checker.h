// Internal to lms-xapi's statement validation (xapi_statement.h): the walker that checks one
// statement, split over two files by what it checks: xapi_checker.cc the values and the people
// (formats, language maps, extensions, Agents and Groups, the verb), xapi_statement.cc the rest
// of the statement (objects, Activity definitions, result, context, attachments).
// Each check returns false after recording the first error in `error`.
//
// Thread rule: a Checker is used by one thread; the free functions are pure.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "xapi_statement.h"

namespace simpang::plugins::lms_xapi::internal {

using json = nlohmann::json;

// "a.b" from "a" and "b" ("b" alone at the root).
std::string join(const std::string& path, std::string_view key);
// "a[3]".
std::string index(const std::string& path, size_t i);
// A short rendering of a bad value for a message: strings quoted and cut at 60 characters.
std::string shown(const json& value);
// "a string", "an object", ... for "must be X, got Y".
const char* kind_of(const json& value);

class Checker {
 public:
  std::optional<StatementError> error;

  // Values and people (xapi_checker.cc).
  bool fail(const std::string& path, std::string rule);
  // `value` is an object whose properties are all in `allowed`.
  bool object(const json& value, const std::string& path,
              std::initializer_list<std::string_view> allowed);
  bool string(const json& value, const std::string& path);
  bool iri(const json& value, const std::string& path);
  bool uuid(const json& value, const std::string& path);
  bool timestamp(const json& value, const std::string& path);
  bool boolean(const json& value, const std::string& path);
  bool number(const json& value, const std::string& path);
  bool language_map(const json& value, const std::string& path);
  bool extensions(const json& value, const std::string& path);
  // The inverse functional identifiers present in an Agent or Group; -1 if one is malformed.
  int identifiers(const json& value, const std::string& path);
  bool agent(const json& value, const std::string& path);
  bool group(const json& value, const std::string& path);
  // An actor, instructor or authority: an Agent (objectType optional) or a Group.
  bool actor(const json& value, const std::string& path);
  bool verb(const json& value, const std::string& path);

  // The statement's other parts (xapi_statement.cc).
  bool components(const json& value, const std::string& path);
  bool definition(const json& value, const std::string& path);
  bool activity(const json& value, const std::string& path);
  bool statement_ref(const json& value, const std::string& path);
  // The object of a statement (sub = inside a SubStatement, where a SubStatement may not nest).
  bool statement_object(json& value, const std::string& path, bool sub);
  bool result(const json& value, const std::string& path);
  bool context(json& value, const std::string& path, const json& object_of_statement);
  bool attachments(const json& value, const std::string& path);
  // The parts a Statement and a SubStatement share.
  bool common(json& value, const std::string& path);
  bool substatement(json& value, const std::string& path);
  bool rest(json& value, const std::string& path);
  bool statement(json& value, const std::string& path);
};

}  // namespace simpang::plugins::lms_xapi::internal
