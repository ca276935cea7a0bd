// Prometheus text exposition format 0.0.4, written by hand (Debian packages no client library):
// one family at a time, each with its HELP and TYPE lines, label values and help text escaped as
// the format requires, and numbers in the forms it accepts (integers exact, NaN, +Inf, -Inf).
//
//   Exposition out;
//   out.family("simpang_events_published_total", "counter", "Events accepted and made durable.");
//   out.sample("simpang_events_published_total", {}, 42);
//   out.family("simpang_destination_queued", "gauge", "Deliveries waiting, by destination.");
//   out.sample("simpang_destination_queued", {{"destination", "ledger"}}, 3);
//   std::string body = std::move(out).text();
//
// Thread rule: an object is used from one thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace simpang::hub::admin {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

class Exposition {
 public:
  // Starts a family: its HELP and TYPE lines. Every sample of the family follows before the next.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  std::string text() && { return std::move(text_); }

 private:
  std::string text_;
};

// `name` as a metric name fragment: lower case, [a-z0-9_] with any other character as '_', runs of
// '_' folded, never starting with a digit. Empty when nothing usable is left.
std::string sanitize_metric_name(std::string_view name);

// The content type a 0.0.4 scrape expects.
inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace simpang::hub::admin
