// A PostgreSQL server of the test's own: a fresh cluster in a temporary directory, started on
// 127.0.0.1 and a free port, stopped (immediately) and removed afterwards. PostgreSQL refuses to
// run as root, so as root the server commands run as the `postgres` user the package creates.
// available() is false, with the reason, when the server binaries are not installed.
#pragma once

#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.h"

namespace simpang::plugins::talent_ledger::testing {

class PgServer {
 public:
  PgServer() {
    const std::filesystem::path bin = "/usr/lib/postgresql/15/bin";
    if (!std::filesystem::exists(bin / "initdb") || !std::filesystem::exists(bin / "pg_ctl")) {
      why_not_ = "PostgreSQL server binaries not found in " + bin.string() +
                 " (Debian package postgresql)";
      return;
    }
    char tmpl[] = "/tmp/ledger-pg-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      why_not_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    std::vector<std::string> as_user;
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) {
        why_not_ = "running as root and there is no postgres user to run the server as";
        return;
      }
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        why_not_ = "cannot hand " + dir_.string() + " to the postgres user";
        return;
      }
      as_user = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    }
    port_ = free_port();
    auto run = [&](std::vector<std::string> argv) {
      argv.insert(argv.begin(), as_user.begin(), as_user.end());
      return simpang::testing::run_command(argv, std::chrono::seconds(60));
    };
    pg_ctl_ = as_user;
    pg_ctl_.push_back((bin / "pg_ctl").string());
    auto init = run({(bin / "initdb").string(), "-D", (dir_ / "data").string(), "-A", "trust", "-U",
                     "postgres", "--no-sync"});
    if (init.status != 0) {
      why_not_ = "initdb failed: " + init.output;
      return;
    }
    auto start = run({(bin / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-l",
                      (dir_ / "server.log").string(), "-w", "-t", "60", "-o",
                      "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                          dir_.string() + " -c fsync=off",
                      "start"});
    if (start.status != 0) {
      why_not_ =
          "pg_ctl start failed: " + start.output + simpang::testing::read_file(dir_ / "server.log");
      return;
    }
    running_ = true;
  }
  ~PgServer() {
    if (running_) {
      std::vector<std::string> stop = pg_ctl_;
      for (const char* a : {"-D", "", "-m", "immediate", "-w", "stop"}) stop.push_back(a);
      stop[stop.size() - 5] = (dir_ / "data").string();
      (void)simpang::testing::run_command(stop, std::chrono::seconds(60));
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  bool available() const { return running_; }
  const std::string& why_not() const { return why_not_; }
  // A libpq connection string for database `db`.
  std::string dsn(const std::string& db = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db +
           " connect_timeout=10";
  }

 private:
  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }

  std::filesystem::path dir_;
  std::vector<std::string> pg_ctl_;
  int port_ = 0;
  bool running_ = false;
  std::string why_not_;
};

}  // namespace simpang::plugins::talent_ledger::testing
