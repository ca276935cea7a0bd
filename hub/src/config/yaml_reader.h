// The configuration's typed YAML reader: the file's text and documents, mappings read key by key,
// and values read as strings, integers, durations, booleans, choices and lists, each reporting
// what is wrong at the file, line and column it is about. It knows nothing of which keys exist or
// what they mean (that is the schema, config.cc), so every section reads its values the same way
// and every message about a value has one form ("hub.heartbeat must be a duration: ...").
//
//   YamlReader reader(file);
//   std::optional<std::vector<YAML::Node>> documents = reader.read();
//   Entries entries = reader.read_map(top, "the 'hub' section", &known_keys);
//   if (const Entry* e = YamlReader::find(entries, "heartbeat")) {
//     if (auto d = reader.get_duration(*e, "hub.heartbeat", /*allow_zero=*/false)) use(*d);
//   }
//   std::vector<Diagnostic> problems = reader.take_diagnostics();
//
// A getter that finds a problem reports it and returns nullopt (or nothing), and the caller goes
// on with its default: one `simpang check` run shows every problem. Exceptions: none of its own;
// yaml-cpp's allocation failures propagate (load_config turns them into a diagnostic).
// Thread rule: one thread per reader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace simpang::hub::config_internal {

// One day: the longest duration any key accepts. Longer than any sensible timeout or interval, and
// small enough that every duration fits the ABI's uint32 milliseconds (heartbeat_ms, stop's
// deadline_ms).
inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24);

// A key and its value in a mapping.
struct Entry {
  YAML::Node key;
  YAML::Node value;
};
// A mapping's entries in file order, each key once.
using Entries = std::vector<std::pair<std::string, Entry>>;

// The text's YAML documents, as YAML::LoadAll gives them, but never more than `max_documents`.
// yaml-cpp 0.7's LoadAll can loop for ever on malformed input: its parser stops advancing and
// LoadAll collects empty documents until memory runs out (fixed upstream in jbeder/yaml-cpp#1319,
// not in Debian 12's package). So the documents are counted first by a parser pass of their own,
// and text with more throws YAML::ParserException at the last document counted.
inline constexpr size_t kMaxYamlDocuments = 16;
std::vector<YAML::Node> load_documents(const std::string& text,
                                       size_t max_documents = kMaxYamlDocuments);

// "a, b, c".
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// What a node is, for "found ..." in a message: "nothing", "a list", "a mapping" or the quoted
// scalar, cut to 40 characters so a message stays one line.
std::string describe(const YAML::Node& node);

class YamlReader {
 public:
  // OWNERSHIP: keeps its own copy of `file` (messages name it as given).
  explicit YamlReader(std::filesystem::path file);

  // Reads the file and parses its YAML documents. Returns them (at least one, the first not null)
  // or nullopt after reporting why there are none: the file cannot be read or is a directory
  // (line 0: the file as a whole), a YAML syntax error (at its position), or an empty file.
  std::optional<std::vector<YAML::Node>> read();

  // The file as given, and the absolute directory it is in (relative paths resolve against it).
  const std::filesystem::path& file() const { return file_; }
  const std::filesystem::path& dir() const { return dir_; }
  // The file's text as read (empty before read()).
  std::string_view text() const { return text_; }

  // --- reporting ---------------------------------------------------------------------------------
  // A problem at a 1-based line and column (0, 0: the file as a whole).
  void error_at(int line, int column, std::string message);
  // A problem at a yaml-cpp mark (0-based); a null mark is reported at 1:1.
  void error(const YAML::Mark& mark, std::string message);
  SourceLocation location(const YAML::Mark& mark) const;
  // Where a value is. yaml-cpp places an implicit null (`key:` with nothing after it) at the next
  // token, possibly lines later, so a missing value is reported at its key instead.
  static YAML::Mark value_mark(const Entry& entry) {
    return entry.value.IsNull() ? entry.key.Mark() : entry.value.Mark();
  }
  // Where a list item is; for an empty item (`-` alone), the `-` rather than the next token.
  YAML::Mark item_mark(const YAML::Node& item) const;
  // Everything reported so far, sorted by position (stable: same-position problems keep their
  // order), leaving none behind.
  std::vector<Diagnostic> take_diagnostics();

  // --- mappings ----------------------------------------------------------------------------------
  // The entries of `map`, each key once. Reports non-scalar keys, keys outside `known` (with a
  // suggestion) and repeated keys; `known` == nullptr accepts any key. `section` names the mapping
  // in messages ("the 'hub' section", "route 'x'").
  Entries read_map(const YAML::Node& map, const std::string& section,
                   const std::vector<std::string>* known);
  // The entry for `key`, or nullptr. OWNERSHIP: points into `entries`.
  static const Entry* find(const Entries& entries, std::string_view key);

  // --- values ------------------------------------------------------------------------------------
  // Each reports a problem naming the value `what` ("hub.max_batch", "'name' of route 'x'").
  std::optional<std::string> get_string(const Entry& entry, const std::string& what,
                                        bool allow_empty = false);
  std::optional<uint64_t> get_uint(const Entry& entry, const std::string& what, uint64_t min,
                                   uint64_t max);
  // A duration (simpang/base/duration.h's grammar) from 1ms (0s when `allow_zero`) to kMaxDuration.
  std::optional<std::chrono::milliseconds> get_duration(const Entry& entry, const std::string& what,
                                                        bool allow_zero);
  // true/yes/on or false/no/off.
  std::optional<bool> get_bool(const Entry& entry, const std::string& what);
  // A string that must be one of `choices`; reported with a suggestion otherwise.
  std::optional<std::string> get_choice(const Entry& entry, const std::string& what,
                                        const std::vector<std::string>& choices);
  // A string or a list of strings, each with its node (for positions). Reports an empty list.
  // `items` says what each one is ("an instance name").
  std::vector<std::pair<std::string, YAML::Node>> get_string_list(const Entry& entry,
                                                                  const std::string& what,
                                                                  const std::string& items);

 private:
  std::filesystem::path file_;
  std::filesystem::path dir_;
  std::string text_;  // the file's text, for item_mark()
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace simpang::hub::config_internal
