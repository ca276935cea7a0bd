// xapi-standin-client: a stand-in for a learning platform that speaks xAPI, for tests and the
// demo. It makes a deterministic cohort from a seed (learners, courses, each learner's path through
// a course: registered, attempted, answered quiz questions, completed, passed or failed, and a
// badge earned on a pass) and POSTs the statements to an LRS in batches, with Basic credentials
// and the version header, as a real platform would: ids of its own, so a retry after a 503 or a
// lost connection is answered from the LRS's store rather than stored twice.
//
//   xapi-standin-client --url http://127.0.0.1:8089/xapi --user moodle-lrs --password-file pw
//       --learners 50 --seed 42 --batch 10 [--bad-every 25] [--ids-file stored.txt]
//
// It prints one summary line (statements sent, stored, refused, retries, and how many of each
// mapped verb) and exits 0 when every statement it meant to be good was stored and every one it
// made bad on purpose (--bad-every) was refused with 400; 1 otherwise; 2 for bad arguments.
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;

constexpr char kAdl[] = "http://adlnet.gov/expapi/verbs/";
constexpr char kHome[] = "https://lms.example.edu.my";

struct Options {
  std::string url;
  std::string user;
  std::string password_file;
  int learners = 20;
  int courses = 3;
  uint64_t seed = 42;
  int batch = 10;
  int bad_every = 0;
  int max_attempts = 20;
  std::string ids_file;
};

struct Planned {
  json statement;
  bool bad = false;  // made invalid on purpose
};

class Cohort {
 public:
  explicit Cohort(uint64_t seed) : random_(seed) {}

  std::string uuid() {
    const uint64_t hi = (random_() & ~uint64_t{0xf000}) | 0x4000;
    const uint64_t lo = (random_() & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);
    char out[37];
    std::snprintf(out, sizeof(out), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                  static_cast<unsigned>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return out;
  }
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(random_); }
  int below(int n) { return static_cast<int>(random_() % static_cast<uint64_t>(n)); }

 private:
  std::mt19937_64 random_;
};

std::string timestamp(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

json statement(Cohort& c, int learner, const std::string& verb_iri, const std::string& verb,
               json object, int64_t when) {
  char account[32];
  std::snprintf(account, sizeof(account), "learner-%05d", learner);
  return {{"id", c.uuid()},
          {"actor",
           {{"name", std::string("Learner ") + std::to_string(learner)},
            {"account", {{"homePage", kHome}, {"name", account}}}}},
          {"verb", {{"id", verb_iri}, {"display", {{"en-US", verb}}}}},
          {"object", std::move(object)},
          {"timestamp", timestamp(when)}};
}

json course(int n) {
  static const char* kNames[] = {"Machine learning 101", "Data engineering", "Responsible AI",
                                 "Deep learning", "MLOps"};
  return {
      {"id", std::string(kHome) + "/course/ai-" + std::to_string(101 + n)},
      {"definition",
       {{"type", "http://adlnet.gov/expapi/activities/course"},
        {"name", {{"en-US", kNames[n % 5]}, {"ms-MY", std::string("Kursus ") + kNames[n % 5]}}}}}};
}

std::vector<Planned> plan(const Options& o, std::map<std::string, int>& mapped) {
  Cohort c(o.seed);
  std::vector<Planned> out;
  int64_t clock = 1736121600;  // 2025-01-06T00:00:00Z
  for (int learner = 1; learner <= o.learners; ++learner) {
    for (int k = 0; k < o.courses; ++k) {
      if (c.uniform() < 0.3) continue;  // not every learner takes every course
      const json the_course = course(k);
      const std::string registration = c.uuid();
      const auto with_context = [&](json s) {
        s["context"] = {
            {"registration", registration},
            {"platform", "Moodle 4.3"},
            {"language", "ms-MY"},
            {"contextActivities", {{"parent", json::array({{{"id", the_course["id"]}}})}}}};
        return s;
      };
      clock += 600 + c.below(7200);
      json reg =
          statement(c, learner, std::string(kAdl) + "registered", "registered", the_course, clock);
      reg["context"] = {{"registration", registration}};
      out.push_back({reg});
      ++mapped["registered"];
      out.push_back({with_context(statement(c, learner, std::string(kAdl) + "attempted",
                                            "attempted", the_course, clock += 3600))});
      for (int q = 0; q < 3; ++q) {
        json question = {
            {"id", the_course["id"].get<std::string>() + "/quiz/" + std::to_string(q + 1)},
            {"definition",
             {{"type", "http://adlnet.gov/expapi/activities/cmi.interaction"},
              {"interactionType", "choice"},
              {"correctResponsesPattern", json::array({"b"})},
              {"choices", json::array({{{"id", "a"}, {"description", {{"en-US", "A"}}}},
                                       {{"id", "b"}, {"description", {{"en-US", "B"}}}}})}}}};
        json answered = with_context(statement(c, learner, std::string(kAdl) + "answered",
                                               "answered", question, clock += 300));
        const bool right = c.uniform() < 0.7;
        answered["result"] = {{"response", right ? "b" : "a"}, {"success", right}};
        out.push_back({answered});
      }
      if (c.uniform() < 0.15) continue;  // dropped out
      const double scaled = std::round((0.35 + 0.65 * c.uniform()) * 1000) / 1000;
      const bool pass = scaled >= 0.6;
      json done = statement(c, learner, std::string(kAdl) + "completed", "completed", the_course,
                            clock += 86400);
      done["context"] = {{"registration", registration}};
      done["result"] = {{"score", {{"scaled", scaled}}},
                        {"completion", true},
                        {"success", pass},
                        {"duration", "PT" + std::to_string(10 + c.below(30)) + "H"}};
      out.push_back({done});
      ++mapped["completed"];
      json verdict = statement(c, learner, std::string(kAdl) + (pass ? "passed" : "failed"),
                               pass ? "passed" : "failed", the_course, clock += 60);
      verdict["context"] = {{"registration", registration}};
      verdict["result"] = {{"score", {{"scaled", scaled}}}, {"success", pass}};
      out.push_back({verdict});
      ++mapped[pass ? "passed" : "failed"];
      if (pass) {
        json badge = {
            {"id", std::string(kHome) + "/badge/" +
                       the_course["id"].get<std::string>().substr(std::string(kHome).size() + 8)},
            {"definition",
             {{"type", "http://activitystrea.ms/schema/1.0/badge"},
              {"name",
               {{"en-US",
                 the_course["definition"]["name"]["en-US"].get<std::string>() + " badge"}}}}}};
        json earned = statement(c, learner, "http://id.tincanapi.com/verb/earned", "earned", badge,
                                clock += 60);
        earned["context"] = {
            {"contextActivities", {{"parent", json::array({{{"id", the_course["id"]}}})}}}};
        out.push_back({earned});
        ++mapped["earned"];
      }
    }
  }
  if (o.bad_every > 0) {
    // Each bad statement breaks one rule a real platform gets wrong.
    for (size_t i = static_cast<size_t>(o.bad_every) - 1; i < out.size();
         i += static_cast<size_t>(o.bad_every)) {
      Planned bad{out[i].statement, true};
      bad.statement["id"] = c.uuid();
      switch (i % 4) {
        case 0:
          bad.statement["actor"] = {{"mbox", "learner@example.edu.my"}};
          break;
        case 1:
          bad.statement["result"] = {{"score", {{"scaled", 1.7}}}};
          break;
        case 2:
          bad.statement["timestamp"] = "06/01/2025 09:00";
          break;
        default:
          bad.statement["grade"] = "A";
          break;
      }
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(i), bad);
      ++i;
    }
  }
  return out;
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// POSTs one request until it gets an answer other than 503 / no connection; returns the status.
long post(CURL* curl, const Options& o, const std::string& body, std::string& answer,
          int& retries) {
  for (int attempt = 0; attempt < o.max_attempts; ++attempt) {
    answer.clear();
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    if (status != 0 && status != 503) return status;
    ++retries;
    // Back off before sending the same statements (same ids) again, as Retry-After asks.
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"a stand-in learning platform that sends xAPI statements to an LRS"};
  app.add_option("--url", o.url, "the LRS's xAPI base, e.g. http://127.0.0.1:8089/xapi")
      ->required();
  app.add_option("--user", o.user, "Basic user-id")->required();
  app.add_option("--password-file", o.password_file, "file holding the password")->required();
  app.add_option("--learners", o.learners, "learners in the cohort")->check(CLI::Range(1, 1000000));
  app.add_option("--courses", o.courses, "courses each learner may take")->check(CLI::Range(1, 5));
  app.add_option("--seed", o.seed, "the cohort's seed");
  app.add_option("--batch", o.batch, "statements per POST")->check(CLI::Range(1, 1000));
  app.add_option("--bad-every", o.bad_every, "insert an invalid statement every N (sent alone)");
  app.add_option("--ids-file", o.ids_file, "write the ids of the stored statements here");
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(o.password_file);
  std::string password;
  if (!std::getline(in, password) || password.empty()) {
    std::cerr << "xapi-standin-client: cannot read a password from " << o.password_file << "\n";
    return 2;
  }
  std::map<std::string, int> mapped;
  const std::vector<Planned> statements = plan(o, mapped);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "X-Experience-API-Version: 1.0.3");
  std::string answer;
  const std::string url = o.url + "/statements";
  const std::string userpwd = o.user + ":" + password;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

  int stored = 0, refused_good = 0, refused_bad = 0, accepted_bad = 0, retries = 0;
  std::vector<std::string> stored_ids;
  json group = json::array();
  const auto flush = [&] {
    if (group.empty()) return;
    const long status = post(curl, o, group.dump(), answer, retries);
    if (status == 200) {
      stored += static_cast<int>(group.size());
      for (const json& s : group) stored_ids.push_back(s["id"]);
    } else {
      refused_good += static_cast<int>(group.size());
      std::cerr << "xapi-standin-client: " << group.size() << " statements got " << status << ": "
                << answer << "\n";
    }
    group = json::array();
  };
  for (const Planned& p : statements) {
    if (p.bad) {
      flush();
      const long status = post(curl, o, p.statement.dump(), answer, retries);
      (status == 400 ? refused_bad : accepted_bad) += 1;
      if (status != 400) {
        std::cerr << "xapi-standin-client: a bad statement got " << status << ": " << answer
                  << "\n";
      }
      continue;
    }
    group.push_back(p.statement);
    if (static_cast<int>(group.size()) >= o.batch) flush();
  }
  flush();
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  curl_global_cleanup();

  if (!o.ids_file.empty()) {
    std::ofstream ids(o.ids_file, std::ios::trunc);
    for (const std::string& id : stored_ids) ids << id << "\n";
  }
  std::cout << "sent=" << statements.size() << " stored=" << stored
            << " refused=" << refused_good + refused_bad << " bad_refused=" << refused_bad
            << " retries=" << retries << " registered=" << mapped["registered"]
            << " completed=" << mapped["completed"] << " passed=" << mapped["passed"]
            << " failed=" << mapped["failed"] << " earned=" << mapped["earned"] << std::endl;
  return refused_good == 0 && accepted_bad == 0 ? 0 : 1;
}
