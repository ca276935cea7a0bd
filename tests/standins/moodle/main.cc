// moodle-standin: the Moodle stand-in (moodle_standin.h) as a program, for the demo and for tests
// that start it as a process of its own.
//
//   moodle-standin --seed seed.json [--port 0] [--port-file FILE]
//
// Serves until SIGTERM or SIGINT. With --port 0 (the default) it takes any free port; the port
// file (written once it listens, decimal, one line) says which.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "moodle_standin.h"

namespace {

int usage(const char* why) {
  std::cerr << "moodle-standin: " << why
            << "\nusage: moodle-standin --seed FILE [--port N] [--port-file FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string seed_path;
  std::string port_file;
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      return usage(("missing value after " + arg).c_str());
    }
    if (arg == "--seed") {
      seed_path = argv[++i];
    } else if (arg == "--port-file") {
      port_file = argv[++i];
    } else if (arg == "--port") {
      char* end = nullptr;
      port = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || port < 0 || port > 65535) {
        return usage("--port: not a port number");
      }
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }
  if (seed_path.empty()) {
    return usage("--seed is required");
  }
  std::ifstream in(seed_path);
  if (!in) {
    std::cerr << "moodle-standin: cannot read the seed " << seed_path << "\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json seed = nlohmann::json::parse(text.str(), nullptr, false);
  if (!seed.is_object()) {
    std::cerr << "moodle-standin: " << seed_path << " is not a JSON object\n";
    return 1;
  }
  // Block the signals before any thread starts, so every thread inherits the mask and sigwait
  // below is the one place they arrive.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  simpang::standins::MoodleStandin site(std::move(seed), static_cast<uint16_t>(port));
  if (auto s = site.start(); !s.ok()) {
    std::cerr << "moodle-standin: " << s.message() << "\n";
    return 1;
  }
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << site.port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  std::cout << "moodle-standin: serving " << site.url() << "/webservice/rest/server.php"
            << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  site.stop();
  return 0;
}
