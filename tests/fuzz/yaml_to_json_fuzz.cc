// Fuzz target: a plugin instance's `config:` YAML made into the JSON the plugin receives
// (hub/src/config/yaml_to_json.cc), on any YAML whatever. Each document of the input is read as
// the configuration loader reads the file (load_documents) and converted with its secret
// references resolved (${env:...}; an input naming ${file:...} is converted without, so that the
// fuzzer reads no file of the machine). The answer is either JSON that nlohmann writes and reads
// back to the same value, or problems that each have a message and a line and column inside the
// input; a YAML syntax error (yaml-cpp's) is placed on a line of the input.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_reader.h"
#include "config/yaml_to_json.h"

namespace {

namespace ci = simpang::hub::config_internal;

[[noreturn]] void violated(const char* rule, const std::string& detail = {}) {
  std::fprintf(stderr, "yaml_to_json fuzz: %s%s%s\n", rule, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

// Whether a yaml-cpp mark (0-based line and column) lies in `text`: on one of its lines, at most
// just past that line's last character.
bool inside(const YAML::Mark& mark, std::string_view text) {
  if (mark.line < 0 || mark.column < 0 || mark.pos < 0 ||
      static_cast<size_t>(mark.pos) > text.size()) {
    return false;
  }
  size_t begin = 0;
  for (int line = 0; line < mark.line; ++line) {
    begin = text.find('\n', begin);
    if (begin == std::string_view::npos) {
      return false;
    }
    ++begin;
  }
  const size_t end = std::min(text.find('\n', begin), text.size());
  return static_cast<size_t>(mark.column) <= end - begin;
}

bool on_a_line(const YAML::Mark& mark, std::string_view text) {
  return mark.line >= 0 && mark.column >= 0 &&
         static_cast<size_t>(mark.line) <=
             static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string where(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + " (byte " +
         std::to_string(mark.pos) + ")";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<YAML::Node> documents;
  try {
    documents = ci::load_documents(text);  // LoadAll, bounded as the loader bounds it
  } catch (const YAML::Exception& e) {
    if (e.msg.empty()) {
      violated("a YAML error without a message");
    }
    // yaml-cpp's own mark: on a line of the input, but its column may run a little past the
    // line's end (it reads ahead over the end of the text), which is harmless to a reader.
    if (!e.mark.is_null() && !on_a_line(e.mark, text)) {
      violated("a YAML error placed outside the input", where(e.mark) + ": " + e.msg);
    }
    return 0;
  }
  const ci::ReferenceContext references{text, std::filesystem::temp_directory_path()};
  const bool resolve = text.find("file:") == std::string::npos;
  for (const YAML::Node& document : documents) {
    std::vector<ci::YamlProblem> problems;
    const nlohmann::json json =
        ci::yaml_to_json(document, problems, resolve ? &references : nullptr);
    for (const ci::YamlProblem& p : problems) {
      if (p.message.empty()) {
        violated("a problem without a message", where(p.mark));
      }
      if (!inside(p.mark, text)) {
        violated("a problem placed outside the input", where(p.mark) + ": " + p.message);
      }
    }
    if (!problems.empty()) {
      continue;
    }
    std::string written;
    try {
      written = json.dump();
    } catch (const nlohmann::json::exception& e) {
      violated("converted JSON that cannot be written", e.what());
    }
    const nlohmann::json back = nlohmann::json::parse(written, nullptr, /*allow_exceptions=*/false);
    if (back.is_discarded()) {
      violated("converted JSON that does not parse", written);
    }
    if (back != json) {
      violated("converted JSON that reads back different", written);
    }
  }
  return 0;
}
