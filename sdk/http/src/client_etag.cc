// Entity-tags (RFC 9110 §8.8.3) and the store that makes repeated GETs conditional (§13.1.2,
// §13.1.3).
#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "simpang/http/client.h"

namespace simpang::http {

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// etagc = %x21 / %x23-7E / obs-text
bool is_etagc(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x7e) || u >= 0x80;
}

bool has_header(const ClientRequest& request, std::string_view name) {
  return std::any_of(request.headers.begin(), request.headers.end(), [&](const auto& h) {
    return h.first.size() == name.size() &&
           std::equal(h.first.begin(), h.first.end(), name.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  });
}

}  // namespace

std::optional<EntityTag> EntityTag::parse(std::string_view value) {
  value = trim_ows(value);
  EntityTag tag;
  // The weakness indicator is case-sensitive: "w/" is not one.
  if (value.starts_with("W/")) {
    tag.weak = true;
    value.remove_prefix(2);
  }
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return std::nullopt;
  std::string_view opaque = value.substr(1, value.size() - 2);
  if (!std::all_of(opaque.begin(), opaque.end(), is_etagc)) return std::nullopt;
  tag.opaque = std::string(opaque);
  return tag;
}

std::string EntityTag::to_string() const { return (weak ? "W/\"" : "\"") + opaque + "\""; }

bool EntityTag::strong_match(const EntityTag& a, const EntityTag& b) {
  return !a.weak && !b.weak && a.opaque == b.opaque;
}

bool EntityTag::weak_match(const EntityTag& a, const EntityTag& b) { return a.opaque == b.opaque; }

void EntityTagStore::add_conditions(ClientRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD") return;
  std::lock_guard lock(mu_);
  auto it = by_url_.find(request.url);
  if (it == by_url_.end()) return;
  const Validators& v = it->second;
  // If-None-Match takes precedence at the server (§13.2.2); If-Modified-Since is sent too, for
  // servers that only know dates.
  if (v.etag && !has_header(request, "If-None-Match")) {
    request.headers.emplace_back("If-None-Match", v.etag->to_string());
  }
  if (!v.last_modified.empty() && !has_header(request, "If-Modified-Since")) {
    request.headers.emplace_back("If-Modified-Since", v.last_modified);
  }
}

EntityTagStore::Outcome EntityTagStore::record(std::string_view url,
                                               const ClientResponse& response) {
  if (response.status != 200 && response.status != 304) return Outcome::kOther;
  std::optional<EntityTag> etag;
  if (const std::string* value = response.header("ETag")) etag = EntityTag::parse(*value);
  std::string last_modified;
  if (const std::string* value = response.header("Last-Modified")) {
    if (parse_http_date(*value)) last_modified = std::string(trim_ows(*value));
  }

  std::lock_guard lock(mu_);
  auto it = by_url_.find(url);
  if (response.status == 304) {
    // A 304 may carry fresher validators; an absent one leaves the remembered one as it was.
    if (it != by_url_.end()) {
      if (etag) it->second.etag = std::move(etag);
      if (!last_modified.empty()) it->second.last_modified = std::move(last_modified);
      it->second.recorded = next_record_++;  // still in use: the last to be evicted
    }
    return Outcome::kNotModified;
  }
  if (!etag && last_modified.empty()) {
    if (it != by_url_.end()) by_url_.erase(it);
    return Outcome::kModified;
  }
  if (it == by_url_.end()) {
    if (max_urls_ == 0) return Outcome::kModified;
    if (by_url_.size() >= max_urls_) {
      auto oldest = std::min_element(
          by_url_.begin(), by_url_.end(),
          [](const auto& a, const auto& b) { return a.second.recorded < b.second.recorded; });
      by_url_.erase(oldest);
    }
    it = by_url_.emplace(std::string(url), Validators{}).first;
  }
  it->second.etag = std::move(etag);
  it->second.last_modified = std::move(last_modified);
  it->second.recorded = next_record_++;
  return Outcome::kModified;
}

void EntityTagStore::forget(std::string_view url) {
  std::lock_guard lock(mu_);
  if (auto it = by_url_.find(url); it != by_url_.end()) by_url_.erase(it);
}

size_t EntityTagStore::size() const {
  std::lock_guard lock(mu_);
  return by_url_.size();
}

}  // namespace simpang::http
