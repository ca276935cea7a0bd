// The typed YAML reader; see config/yaml_reader.h. The messages here are the ones every section
// of the configuration shares; their positions are the ones `simpang check` prints.
#include "config/yaml_reader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "config/did_you_mean.h"
#include "simpang/base/duration.h"

namespace simpang::hub::config_internal {

namespace {

// Only remembers where the last document started: load_documents counts and stops.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { last_start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark last_start = YAML::Mark::null_mark();
};

}  // namespace

std::vector<YAML::Node> load_documents(const std::string& text, size_t max_documents) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentCounter counter;
  size_t documents = 0;
  while (parser.HandleNextDocument(counter)) {
    if (++documents > max_documents) {
      throw YAML::ParserException(counter.last_start,
                                  "more than " + std::to_string(max_documents) +
                                      " YAML documents (a configuration file holds one)");
    }
  }
  return YAML::LoadAll(text);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += separator;
    }
    out += items[i];
  }
  return out;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      break;
  }
  std::string text = node.Scalar();
  constexpr size_t kShown = 40;
  if (text.size() > kShown) {
    text = text.substr(0, kShown) + "...";
  }
  return "'" + text + "'";
}

YamlReader::YamlReader(std::filesystem::path file) : file_(std::move(file)) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(file_, ec);
  dir_ = (ec ? file_ : absolute).parent_path().lexically_normal();
}

std::optional<std::vector<YAML::Node>> YamlReader::read() {
  {
    std::error_code ec;
    std::ifstream in(file_, std::ios::binary);
    if (!in) {
      const int err = errno;
      error_at(0, 0, "cannot read the configuration file: " + std::string(std::strerror(err)));
      return std::nullopt;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text_ = buffer.str();
    if (std::filesystem::is_directory(file_, ec)) {
      error_at(0, 0, "cannot read the configuration file: it is a directory");
      return std::nullopt;
    }
  }

  std::vector<YAML::Node> documents;
  try {
    documents = load_documents(text_);
  } catch (const YAML::Exception& e) {
    error(e.mark, "YAML syntax error: " + e.msg);
    return std::nullopt;
  } catch (const std::exception& e) {
    error_at(1, 1, std::string("YAML syntax error: ") + e.what());
    return std::nullopt;
  }

  if (documents.empty() || documents.front().IsNull()) {
    error_at(1, 1, "configuration is empty");
    return std::nullopt;
  }
  return documents;
}

void YamlReader::error_at(int line, int column, std::string message) {
  diagnostics_.push_back(
      Diagnostic{SourceLocation{file_.string(), line, column}, std::move(message)});
}

void YamlReader::error(const YAML::Mark& mark, std::string message) {
  error_at(mark.is_null() ? 1 : mark.line + 1, mark.is_null() ? 1 : mark.column + 1,
           std::move(message));
}

SourceLocation YamlReader::location(const YAML::Mark& mark) const {
  return SourceLocation{file_.string(), mark.line + 1, mark.column + 1};
}

std::vector<Diagnostic> YamlReader::take_diagnostics() {
  std::stable_sort(
      diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
      });
  return std::exchange(diagnostics_, {});
}

YAML::Mark YamlReader::item_mark(const YAML::Node& item) const {
  YAML::Mark mark = item.Mark();
  if (!item.IsNull() || mark.is_null() || mark.pos < 0 ||
      static_cast<size_t>(mark.pos) > text_.size()) {
    return mark;
  }
  // An explicit `~` or `null` is where yaml-cpp says it is.
  const std::string_view text(text_);
  const std::string_view at = text.substr(static_cast<size_t>(mark.pos));
  for (std::string_view literal : {"~", "null", "Null", "NULL"}) {
    if (at.starts_with(literal) &&
        (at.size() == literal.size() ||
         !std::isalnum(static_cast<unsigned char>(at[literal.size()])))) {
      return mark;
    }
  }
  // An empty item (`-` with nothing after it) is marked at the next token, possibly lines later.
  // Walk back, line by line, to the last character before that token which is neither blank nor
  // comment: the `-` that began the item.
  size_t end = static_cast<size_t>(mark.pos);  // exclusive end of the text still to look at
  for (int line = mark.line; line >= 0; --line) {
    const size_t newline = end == 0 ? std::string_view::npos : text.rfind('\n', end - 1);
    const size_t start = newline == std::string_view::npos ? 0 : newline + 1;
    std::string_view content = text.substr(start, end - start);
    // A '#' at the start or after a blank begins a comment. Quotes are not considered: an empty
    // item's neighbourhood rarely holds a quoted '#', and the cost is only a less exact position.
    for (size_t i = 0; i < content.size(); ++i) {
      if (content[i] == '#' && (i == 0 || content[i - 1] == ' ' || content[i - 1] == '\t')) {
        content = content.substr(0, i);
        break;
      }
    }
    const size_t last = content.find_last_not_of(" \t\r");
    if (last != std::string_view::npos) {
      YAML::Mark found;
      found.pos = static_cast<int>(start + last);
      found.line = line;
      found.column = static_cast<int>(last);
      return found;
    }
    if (start == 0) {
      break;
    }
    end = start - 1;  // drop the '\n' that ends the previous line
  }
  return mark;
}

Entries YamlReader::read_map(const YAML::Node& map, const std::string& section,
                             const std::vector<std::string>* known) {
  Entries entries;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // A copy: `it->first` lives in a proxy that dies with the full-expression.
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(key.Mark(), "a key in " + section + " is " + describe(key) + "; keys must be names");
      continue;
    }
    const std::string& name = key.Scalar();
    if (const Entry* first = find(entries, name)) {
      error(key.Mark(), "duplicate key '" + name + "' in " + section + " (first given at line " +
                            std::to_string(first->key.Mark().line + 1) + ")");
      continue;
    }
    if (known != nullptr && std::find(known->begin(), known->end(), name) == known->end()) {
      std::string hint = did_you_mean_suffix(name, *known);
      if (hint.empty()) {
        hint = " (expected one of: " + join(*known) + ")";
      }
      error(key.Mark(), "unknown key '" + name + "' in " + section + hint);
      continue;
    }
    entries.emplace_back(name, Entry{key, it->second});
  }
  return entries;
}

const Entry* YamlReader::find(const Entries& entries, std::string_view key) {
  for (const auto& [name, entry] : entries) {
    if (name == key) {
      return &entry;
    }
  }
  return nullptr;
}

std::optional<std::string> YamlReader::get_string(const Entry& entry, const std::string& what,
                                                  bool allow_empty) {
  if (entry.value.IsNull()) {
    error(entry.key.Mark(), what + " needs a value");
    return std::nullopt;
  }
  if (!entry.value.IsScalar()) {
    error(entry.value.Mark(), what + " must be a string; found " + describe(entry.value));
    return std::nullopt;
  }
  if (!allow_empty && entry.value.Scalar().empty()) {
    error(entry.value.Mark(), what + " must not be empty");
    return std::nullopt;
  }
  return entry.value.Scalar();
}

std::optional<uint64_t> YamlReader::get_uint(const Entry& entry, const std::string& what,
                                             uint64_t min, uint64_t max) {
  const std::string expected =
      what + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!entry.value.IsScalar()) {
    error(value_mark(entry), expected + "; found " + describe(entry.value));
    return std::nullopt;
  }
  std::string_view text = entry.value.Scalar();
  if (text.starts_with('+')) {
    text.remove_prefix(1);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    error(entry.value.Mark(), expected + "; found " + describe(entry.value));
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> YamlReader::get_duration(const Entry& entry,
                                                                  const std::string& what,
                                                                  bool allow_zero) {
  const std::string expected =
      what + " must be a duration: an integer and a unit (ms, s, m or h), such as 250ms or 5s";
  if (!entry.value.IsScalar()) {
    error(value_mark(entry), expected + "; found " + describe(entry.value));
    return std::nullopt;
  }
  std::optional<std::chrono::milliseconds> d = parse_duration(entry.value.Scalar());
  if (!d) {
    error(entry.value.Mark(), expected + "; found " + describe(entry.value));
    return std::nullopt;
  }
  if ((!allow_zero && d->count() == 0) || *d > kMaxDuration) {
    error(entry.value.Mark(), what + " must be " + (allow_zero ? "from 0s" : "from 1ms") +
                                  " to 24h; found " + describe(entry.value));
    return std::nullopt;
  }
  return d;
}

std::vector<std::pair<std::string, YAML::Node>> YamlReader::get_string_list(
    const Entry& entry, const std::string& what, const std::string& items) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  const std::string expected = what + " must be " + items + " or a list of them";
  if (entry.value.IsNull()) {
    error(entry.key.Mark(), what + " needs a value: " + items + " or a list of them");
    return out;
  }
  if (entry.value.IsMap()) {
    error(entry.value.Mark(), expected + "; found a mapping");
    return out;
  }
  if (entry.value.IsScalar()) {
    if (entry.value.Scalar().empty()) {
      error(entry.value.Mark(), what + " must not be empty");
    } else {
      out.emplace_back(entry.value.Scalar(), entry.value);
    }
    return out;
  }
  if (entry.value.size() == 0) {
    error(entry.value.Mark(), what + " must not be an empty list");
    return out;
  }
  for (const YAML::Node& item : entry.value) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      error(item_mark(item),
            "each item of " + what + " must be " + items + "; found " +
                (item.IsScalar() ? std::string("an empty string") : describe(item)));
      continue;
    }
    out.emplace_back(item.Scalar(), item);
  }
  return out;
}

std::optional<bool> YamlReader::get_bool(const Entry& entry, const std::string& what) {
  if (entry.value.IsScalar()) {
    const std::string& text = entry.value.Scalar();
    if (text == "true" || text == "yes" || text == "on") {
      return true;
    }
    if (text == "false" || text == "no" || text == "off") {
      return false;
    }
  }
  error(entry.value.Mark(), what + " must be true or false; found " + describe(entry.value));
  return std::nullopt;
}

std::optional<std::string> YamlReader::get_choice(const Entry& entry, const std::string& what,
                                                  const std::vector<std::string>& choices) {
  auto s = get_string(entry, what);
  if (!s) {
    return std::nullopt;
  }
  if (std::find(choices.begin(), choices.end(), *s) == choices.end()) {
    error(entry.value.Mark(), what + " must be one of " + join(choices) + "; found '" + *s + "'" +
                                  did_you_mean_suffix(*s, choices));
    return std::nullopt;
  }
  return s;
}

}  // namespace simpang::hub::config_internal
