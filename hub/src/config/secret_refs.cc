// Secret references; see config/secret_refs.h.
#include "config/secret_refs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "config/plugin_search.h"  // resolve_against

namespace simpang::hub::config_internal {
namespace {

constexpr std::string_view kEscape = "$${";
constexpr std::string_view kOpen = "${";
constexpr std::string_view kLiteralHint = " (write '$${' for a literal '${')";

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
    return false;
  }
  for (char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// nlohmann::json refuses to serialise a string that is not UTF-8; the plugin's JSON must be valid.
bool is_utf8(const std::string& value) {
  try {
    (void)nlohmann::json(value).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// The file's content, or an error message naming the path and why. Everything is checked on the
// opened descriptor, so the file cannot be swapped between the check and the read; O_NONBLOCK keeps
// a FIFO put in its place from blocking the loader.
bool read_secret_file(const std::filesystem::path& path, std::string& out, std::string& why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    why = err == ENOENT ? "the file " + path.string() + " does not exist"
                        : "the file " + path.string() + " cannot be read: " + std::strerror(err);
    return false;
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    why = "the file " + path.string() + " cannot be read: " + std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    why = path.string() + " is a directory, not a file";
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    why = path.string() + " is not a regular file";
    return false;
  }
  const std::string too_large = "the file " + path.string() + " is larger than " +
                                std::to_string(kMaxSecretFileBytes / 1024) +
                                " KiB, the most a secret file may hold";
  if (static_cast<uint64_t>(st.st_size) > kMaxSecretFileBytes) {
    why = too_large;
    return false;
  }
  // Read one byte past the bound: the file may grow after fstat.
  std::string content(kMaxSecretFileBytes + 1, '\0');
  size_t size = 0;
  while (size < content.size()) {
    const ssize_t n = ::read(fd, content.data() + size, content.size() - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      why = "the file " + path.string() + " cannot be read: " + std::strerror(errno);
      return false;
    }
    if (n == 0) {
      break;
    }
    size += static_cast<size_t>(n);
  }
  if (size > kMaxSecretFileBytes) {
    why = too_large;
    return false;
  }
  content.resize(size);
  if (content.ends_with("\r\n")) {
    content.resize(content.size() - 2);
  } else if (content.ends_with('\n')) {
    content.pop_back();
  }
  out = std::move(content);
  return true;
}

}  // namespace

bool has_references(std::string_view text) { return text.find(kOpen) != std::string_view::npos; }

std::string resolve_references(std::string_view text, const std::filesystem::path& base_dir,
                               std::vector<ReferenceProblem>& problems) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i).starts_with(kEscape)) {
      out += kOpen;
      i += kEscape.size();
      continue;
    }
    if (!text.substr(i).starts_with(kOpen)) {
      out += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + kOpen.size());
    if (close == std::string_view::npos) {
      problems.push_back({i, text.size() - i,
                          "the reference '" + std::string(text.substr(i)) + "' has no closing '}'" +
                              std::string(kLiteralHint)});
      break;
    }
    const std::string_view written = text.substr(i, close + 1 - i);
    const std::string_view body = text.substr(i + kOpen.size(), close - i - kOpen.size());
    auto problem = [&](std::string message) {
      problems.push_back({i, written.size(), "'" + std::string(written) + "': " + message});
    };
    std::string value;
    if (body.starts_with("env:")) {
      const std::string name(body.substr(4));
      if (!valid_env_name(name)) {
        problem("'" + name +
                "' is not an environment variable name (letters, digits and '_', not starting "
                "with a digit)");
      } else if (const char* env = std::getenv(name.c_str()); env == nullptr) {
        problem("the environment variable " + name + " is not set");
      } else if (value = env; !is_utf8(value)) {
        problem("the environment variable " + name + " is not UTF-8 text");
      } else {
        out += value;
      }
    } else if (body.starts_with("file:")) {
      const std::string_view path_text = body.substr(5);
      std::string why;
      if (path_text.empty()) {
        problem("no file is named after 'file:'");
      } else {
        const std::filesystem::path path = resolve_against(base_dir, std::string(path_text));
        if (!read_secret_file(path, value, why)) {
          problem(why);
        } else if (!is_utf8(value)) {
          problem("the file " + path.string() + " is not UTF-8 text");
        } else {
          out += value;
        }
      }
    } else {
      problem("unknown reference; use ${env:NAME} or ${file:PATH}" + std::string(kLiteralHint));
    }
    i = close + 1;
  }
  return out;
}

}  // namespace simpang::hub::config_internal
