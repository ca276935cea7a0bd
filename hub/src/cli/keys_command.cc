#include "cli/keys_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "security/curve_keys.h"

namespace simpang::hub {

std::function<int()> add_keys_commands(CLI::App& app) {
  struct Options {
    std::string name;
    std::string dir = ".";
  };
  auto options = std::make_shared<Options>();
  auto* keys = app.add_subcommand("keys", "CurveZMQ keys for partners' connections");
  auto* create = keys->add_subcommand(
      "new", "Write a key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (public)");
  create->add_option("NAME", options->name, "Key name, e.g. the partner's name")->required();
  create->add_option("--dir", options->dir, "Existing directory to write into (default: .)");
  keys->require_subcommand(1);

  return [options, create]() -> int {
    if (!create->parsed()) {
      return -1;
    }
    StatusOr<CurveKeyPair> pair = generate_curve_key_pair();
    if (!pair.ok()) {
      std::cerr << "simpang keys new: " << pair.status().message() << "\n";
      return 1;
    }
    const std::filesystem::path dir = options->dir;
    if (Status s = write_curve_key_pair(dir, options->name, *pair); !s.ok()) {
      std::cerr << "simpang keys new: " << s.message() << "\n";
      return 1;
    }
    const auto secret = dir / (options->name + ".key");
    const auto public_key = dir / (options->name + ".pub");
    std::cout << "wrote " << secret.string() << " (secret: keep it with the client, mode 0600)\n"
              << "wrote " << public_key.string() << " (public: give it to the hub)\n"
              << "public key " << pair->public_key << "\n"
              << "fingerprint " << curve_key_fingerprint(pair->public_key) << "\n";
    return 0;
  };
}

}  // namespace simpang::hub
