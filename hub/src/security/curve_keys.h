// CurveZMQ key pairs for partners' connections: made by `simpang keys new`, read by the hub's
// partner door. Keys travel in the Z85 text form ZeroMQ uses (40 characters for 32 bytes).
//
//   StatusOr<CurveKeyPair> pair = generate_curve_key_pair();
//   Status s = write_curve_key_pair(dir, "acme", *pair);   // acme.key (0600) and acme.pub
//   StatusOr<std::string> key = parse_curve_public_key(text, "partners[2].curve_public_key");
//   logger->warn("unknown key {}", curve_key_fingerprint(*key));
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "simpang/base/status.h"

namespace simpang::hub {

// Z85 texts, 40 characters each.
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

// A fresh key pair from libzmq (libsodium underneath). Fails when libzmq was built without CURVE.
StatusOr<CurveKeyPair> generate_curve_key_pair();

// Writes `<dir>/<name>.key` (the secret key, mode 0600) and `<dir>/<name>.pub` (the public key,
// mode 0644), each one line of Z85. Refuses, writing nothing, when either file exists; `dir` must
// exist. `name`: letters, digits, '-', '_' and '.', not starting with '.'.
Status write_curve_key_pair(const std::filesystem::path& dir, std::string_view name,
                            const CurveKeyPair& pair);

// Checks one Z85 key text (surrounding whitespace ignored) and returns it trimmed. The error names
// `what` and the rule: length, alphabet, or not decodable.
StatusOr<std::string> parse_curve_key(std::string_view text, std::string_view what);

// A short, stable name for a key in logs: "SHA256:" and the first 16 hex digits of the SHA-256
// of its 32 raw bytes. Public keys only; `key` is Z85 (an invalid one gives "SHA256:invalid").
std::string curve_key_fingerprint(std::string_view z85_key);

}  // namespace simpang::hub
