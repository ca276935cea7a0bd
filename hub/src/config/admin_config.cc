// The `admin:` section (config/admin_config.h, admin_section.h). A token is resolved through the
// same reference grammar as every other secret (`${file:}`, `${env:}`, config/secret_refs.h), and a
// problem with one is reported at the reference itself.
#include "config/admin_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "config/admin_section.h"
#include "config/yaml_to_json.h"

namespace simpang::hub {

bool is_loopback_address(const std::string& address) {
  if (address == "localhost" || address == "::1") {
    return true;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  return false;
}

namespace config_internal {
namespace {

const std::vector<std::string> kAdminKeys = {"listen", "port", "token", "tls"};
const std::vector<std::string> kTlsKeys = {"certificate", "private_key"};

// RFC 6750's token68, what a Bearer credential may hold: checked here so a token no client could
// send is refused at its line rather than when the server starts.
bool is_token68(std::string_view token) {
  size_t end = token.size();
  while (end > 0 && token[end - 1] == '=') {
    --end;
  }
  if (end == 0) {
    return false;
  }
  return std::all_of(token.begin(), token.begin() + end, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
  });
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

class AdminLoader {
 public:
  AdminLoader(YamlReader& reader, AdminConfig& admin) : reader_(reader), admin_(admin) {}

  void load(const Entry& entry) {
    admin_.enabled = true;
    admin_.where = reader_.location(entry.key.Mark());
    if (entry.value.IsNull()) {
      return;  // `admin:` alone: the defaults, on loopback
    }
    if (!entry.value.IsMap()) {
      reader_.error(
          entry.value.Mark(),
          "'admin' must be a mapping (listen, port, token, tls); found " + describe(entry.value));
      return;
    }
    auto entries = reader_.read_map(entry.value, "the 'admin' section", &kAdminKeys);
    const Entry* listen = YamlReader::find(entries, "listen");
    if (listen != nullptr) {
      if (auto s = reader_.get_string(*listen, "admin.listen")) {
        in_addr v4{};
        in6_addr v6{};
        if (*s != "localhost" && inet_pton(AF_INET, s->c_str(), &v4) != 1 &&
            inet_pton(AF_INET6, s->c_str(), &v6) != 1) {
          reader_.error(listen->value.Mark(),
                        "admin.listen must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1); "
                        "found '" +
                            *s + "'");
        } else {
          admin_.listen = *s;
        }
      }
    }
    if (const Entry* e = YamlReader::find(entries, "port")) {
      if (auto v = reader_.get_uint(*e, "admin.port", 0, 65535)) {
        admin_.port = static_cast<uint16_t>(*v);
      }
    }
    if (const Entry* e = YamlReader::find(entries, "token")) {
      load_tokens(*e);
    }
    if (const Entry* e = YamlReader::find(entries, "tls")) {
      load_tls(*e);
    }
    if (admin_.tokens.empty() && !is_loopback_address(admin_.listen) && listen != nullptr &&
        YamlReader::find(entries, "token") == nullptr) {
      reader_.error(listen->value.Mark(),
                    "admin.listen '" + admin_.listen +
                        "' is not a loopback address: a token is required (admin.token: "
                        "${file:admin.token}), or listen on 127.0.0.1");
    }
  }

 private:
  void load_tokens(const Entry& entry) {
    std::vector<YAML::Node> nodes;
    if (entry.value.IsSequence() && entry.value.size() > 0) {
      for (const YAML::Node& item : entry.value) {
        nodes.push_back(item);
      }
    } else if (!entry.value.IsSequence() && !entry.value.IsNull()) {
      nodes.push_back(entry.value);
    } else {
      reader_.error(YamlReader::value_mark(entry),
                    "admin.token needs a value: a token, or a list of them (e.g. "
                    "${file:admin.token})");
      return;
    }
    size_t i = 0;
    for (const YAML::Node& node : nodes) {
      const std::string what = nodes.size() == 1 && !entry.value.IsSequence()
                                   ? "admin.token"
                                   : "admin.token[" + std::to_string(i) + "]";
      ++i;
      if (!node.IsScalar() || node.Scalar().empty()) {
        reader_.error(node.Mark(), what + " must be a non-empty string; found " + describe(node));
        continue;
      }
      std::vector<YamlProblem> problems;
      const ReferenceContext references{reader_.text(), reader_.dir()};
      nlohmann::json value = yaml_to_json(node, problems, &references);
      for (const YamlProblem& p : problems) {
        reader_.error(p.mark, "in " + what + ": " + p.message);
      }
      if (!problems.empty()) {
        continue;
      }
      std::string token = trim(value.is_string() ? value.get<std::string>() : node.Scalar());
      if (!is_token68(token)) {
        // Never the token itself in the message: it is a secret.
        reader_.error(node.Mark(), what +
                                       " is not a valid bearer token: use letters, digits and "
                                       "- . _ ~ + / (then any '='), e.g. from `openssl rand "
                                       "-hex 32`");
        continue;
      }
      admin_.tokens.push_back(std::move(token));
      admin_.tokens_shown.push_back(node.Scalar());
    }
  }

  void load_tls(const Entry& entry) {
    if (!entry.value.IsMap()) {
      reader_.error(YamlReader::value_mark(entry),
                    "admin.tls must be a mapping {certificate: FILE, private_key: FILE}; found " +
                        describe(entry.value));
      return;
    }
    auto entries = reader_.read_map(entry.value, "admin.tls", &kTlsKeys);
    const Entry* cert = YamlReader::find(entries, "certificate");
    const Entry* key = YamlReader::find(entries, "private_key");
    if (cert == nullptr || key == nullptr) {
      reader_.error(entry.key.Mark(),
                    std::string("admin.tls needs both 'certificate' and 'private_key' (PEM "
                                "files); '") +
                        (cert == nullptr ? "certificate" : "private_key") + "' is missing");
      return;
    }
    auto file = [&](const Entry& e, const std::string& what) -> std::filesystem::path {
      auto s = reader_.get_string(e, what);
      if (!s) {
        return {};
      }
      std::filesystem::path path(*s);
      if (path.is_relative()) {
        path = reader_.dir() / path;
      }
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        reader_.error(e.value.Mark(), what + ": no such file " + path.string());
        return {};
      }
      return path;
    };
    admin_.tls_certificate = file(*cert, "admin.tls.certificate");
    admin_.tls_private_key = file(*key, "admin.tls.private_key");
  }

  YamlReader& reader_;
  AdminConfig& admin_;
};

}  // namespace

void load_admin_section(YamlReader& reader, const Entry* admin, Config& config) {
  if (admin == nullptr) {
    return;
  }
  AdminLoader(reader, config.admin).load(*admin);
}

}  // namespace config_internal
}  // namespace simpang::hub
