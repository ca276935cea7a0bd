// The hr-scim plugin: a SCIM 2.0 service provider (RFC 7643, RFC 7644) at /scim/v2 that HR systems
// and identity providers push Users and Groups to. Each configured client (bearer token) is one
// employer with its own resources. Requests are admitted on server threads (bearer token, body
// JSON) and served on the runtime thread, which owns the store (scim_store.h): a change and its
// talent events are committed together, published with completion, and answered 2xx only once the
// hub has made the events durable.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "hr_scim_config.h"
#include "scim_patch.h"
#include "scim_store.h"
#include "simpang/http/auth.h"
#include "simpang/http/server.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::hr_scim {

inline constexpr char kPortFile[] = "port";
inline constexpr char kStoreFile[] = "scim.db";
inline constexpr char kPrefix[] = "/scim/v2";

class HrScim : public simpang::sdk::Source {
 public:
  explicit HrScim(simpang::sdk::Context& ctx);  // throws ConfigError / std::runtime_error
  ~HrScim() override;
  HrScim(const HrScim&) = delete;
  HrScim& operator=(const HrScim&) = delete;

  void on_start(simpang::sdk::Context& ctx) override;
  void on_stop(simpang::sdk::Context& ctx) override;

 private:
  struct Call;
  void admit(simpang::sdk::Context& ctx, simpang::http::Request request,
             simpang::http::Responder responder);
  void serve(simpang::sdk::Context& ctx, std::shared_ptr<Call> call);
  void list(simpang::sdk::Context& ctx, Call& call, const std::string& type,
            const nlohmann::json& params);
  void write(simpang::sdk::Context& ctx, std::shared_ptr<Call> call, const std::string& type,
             const std::string& id);
  void finish(simpang::sdk::Context& ctx, std::shared_ptr<Call> call, ResourceRow row, bool remove,
              std::vector<simpang::v1::Event> events, int status, std::string body);
  void republish(simpang::sdk::Context& ctx, bool all);
  std::string location(const Call& call, const std::string& type, const std::string& id) const;

  const HrScimConfig config_;
  std::optional<simpang::http::BearerAuth> auth_;
  std::unique_ptr<ScimStore> store_;  // runtime thread only
  const std::filesystem::path port_file_;
  std::unique_ptr<simpang::http::Server> server_;
  std::thread stopper_;
  bool republishing_ = false;  // runtime thread
};

}  // namespace simpang::plugins::hr_scim
