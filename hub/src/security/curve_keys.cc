#include "security/curve_keys.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace simpang::hub {
namespace {

constexpr size_t kZ85KeyChars = 40;
constexpr size_t kRawKeyBytes = 32;

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool is_z85_char(char c) {
  static constexpr std::string_view kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  return kAlphabet.find(c) != std::string_view::npos;
}

bool is_key_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Creates `path` exclusively with `mode` and writes `line` and a newline.
Status write_new_file(const std::filesystem::path& path, mode_t mode, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    return Status::Error("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  // The umask may have narrowed a public key's mode; a secret's 0600 is never widened by it.
  ::fchmod(fd, mode);
  const std::string text = line + "\n";
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int write_errno = errno;
  const bool closed = ::close(fd) == 0;
  if (n != static_cast<ssize_t>(text.size()) || !closed) {
    ::unlink(path.c_str());
    return Status::Error("cannot write " + path.string() + ": " + std::strerror(write_errno));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<CurveKeyPair> generate_curve_key_pair() {
  if (!zmq_has("curve")) {
    return Status::Error("this libzmq was built without CURVE support");
  }
  std::array<char, kZ85KeyChars + 1> public_key{};
  std::array<char, kZ85KeyChars + 1> secret_key{};
  if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0) {
    return Status::Error(std::string("zmq_curve_keypair failed: ") + zmq_strerror(zmq_errno()));
  }
  CurveKeyPair pair{std::string(public_key.data(), kZ85KeyChars),
                    std::string(secret_key.data(), kZ85KeyChars)};
  std::memset(secret_key.data(), 0, secret_key.size());
  return pair;
}

Status write_curve_key_pair(const std::filesystem::path& dir, std::string_view name,
                            const CurveKeyPair& pair) {
  if (!is_key_name(name)) {
    return Status::Error("key name '" + std::string(name) +
                         "': use letters, digits, '-', '_' and '.', not starting with '.'");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::Error("directory " + dir.string() + " does not exist");
  }
  const auto secret_path = dir / (std::string(name) + ".key");
  const auto public_path = dir / (std::string(name) + ".pub");
  for (const auto& path : {secret_path, public_path}) {
    if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found) {
      return Status::Error(path.string() + " exists; not overwriting a key");
    }
  }
  SIMPANG_RETURN_IF_ERROR(write_new_file(secret_path, 0600, pair.secret_key));
  if (Status s = write_new_file(public_path, 0644, pair.public_key); !s.ok()) {
    ::unlink(secret_path.c_str());
    return s;
  }
  return Status::Ok();
}

StatusOr<std::string> parse_curve_key(std::string_view text, std::string_view what) {
  const std::string_view key = trim(text);
  const std::string where(what);
  if (key.size() != kZ85KeyChars) {
    return Status::Error(where + ": a CURVE key is " + std::to_string(kZ85KeyChars) +
                         " characters of Z85, got " + std::to_string(key.size()));
  }
  for (size_t i = 0; i < key.size(); ++i) {
    if (!is_z85_char(key[i])) {
      return Status::Error(where + ": character " + std::to_string(i + 1) +
                           " of the key is not in the Z85 alphabet");
    }
  }
  std::string z85(key);
  std::array<uint8_t, kRawKeyBytes> raw{};
  if (zmq_z85_decode(raw.data(), z85.c_str()) == nullptr) {
    return Status::Error(where + ": the key does not decode as Z85");
  }
  return z85;
}

std::string curve_key_fingerprint(std::string_view z85_key) {
  const std::string z85(trim(z85_key));
  std::array<uint8_t, kRawKeyBytes> raw{};
  if (z85.size() != kZ85KeyChars || zmq_z85_decode(raw.data(), z85.c_str()) == nullptr) {
    return "SHA256:invalid";
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  if (EVP_Digest(raw.data(), raw.size(), digest.data(), &digest_len, EVP_sha256(), nullptr) != 1) {
    return "SHA256:invalid";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "SHA256:";
  for (unsigned int i = 0; i < 8 && i < digest_len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace simpang::hub
