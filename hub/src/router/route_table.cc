#include "router/route_table.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <functional>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "router/instance_glob.h"
#include "simpang/base/type_pattern.h"

namespace simpang::hub {
namespace {

// The cache is cleared when it holds this many (from, type) pairs: a publisher sending ever-new
// types (a bug or an attack) then costs pattern matching per event, never unbounded memory.
constexpr size_t kMaxCacheEntries = 4096;

bool allowed_in_instance_glob(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '*' || c == '?';
}

// A character as a message shows it: 'x' when printable, otherwise its byte value.
std::string describe_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) {
    return std::string("'") + c + "'";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xf];
}

struct ExtensionCondition {
  std::string name;
  std::string value;
};

// An extension attribute's value in the string form routes compare against. Binary and timestamp
// values have no agreed string form in a route, so they never equal anything.
bool extension_equals(const simpang::v1::AttributeValue& value, std::string_view expected) {
  using simpang::v1::AttributeValue;
  switch (value.attr_case()) {
    case AttributeValue::kCeString:
      return value.ce_string() == expected;
    case AttributeValue::kCeUri:
      return value.ce_uri() == expected;
    case AttributeValue::kCeUriRef:
      return value.ce_uri_ref() == expected;
    case AttributeValue::kCeBoolean:
      return expected == (value.ce_boolean() ? "true" : "false");
    case AttributeValue::kCeInteger: {
      char buffer[16];  // "-2147483648" is 11 characters
      const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value.ce_integer());
      return ec == std::errc() && std::string_view(buffer, end - buffer) == expected;
    }
    case AttributeValue::kCeBytes:
    case AttributeValue::kCeTimestamp:
    case AttributeValue::ATTR_NOT_SET:
      break;
  }
  return false;
}

struct CompiledRoute {
  std::string name;
  bool disabled = false;  // kept only for its index (a route removed by a reload): matches nothing
  bool any_from = false;  // `from` empty or containing "*"
  std::vector<std::string> from;
  bool any_type = false;  // `match.type` empty or containing a pattern that matches everything
  std::vector<TypePattern> types;
  std::string subject_prefix;  // empty: no condition
  std::vector<ExtensionCondition> extensions;
  std::vector<uint32_t> destinations;  // indices into RouteTable::destinations(), in `to` order

  // True when the route looks at more than (from, type), so a cached answer for a (from, type)
  // cannot include it unconditionally.
  bool conditional() const { return !subject_prefix.empty() || !extensions.empty(); }

  bool matches_from(std::string_view instance) const {
    if (disabled) {
      return false;
    }
    return any_from || std::any_of(from.begin(), from.end(), [instance](const std::string& glob) {
             return instance_glob_matches(glob, instance);
           });
  }

  bool matches_type(std::string_view type) const {
    return any_type || std::any_of(types.begin(), types.end(), [type](const TypePattern& pattern) {
             return pattern.matches(type);
           });
  }

  bool conditions_hold(const simpang::v1::Event& event) const {
    if (!event.subject().starts_with(subject_prefix)) {
      return false;
    }
    for (const ExtensionCondition& condition : extensions) {
      const auto it = event.extensions().find(condition.name);
      if (it == event.extensions().end() || !extension_equals(it->second, condition.value)) {
        return false;
      }
    }
    return true;
  }
};

// Cache keys: stored as one string (one allocation per entry), looked up as two string_views so
// a hit allocates nothing (heterogeneous lookup: a transparent hash and equality).
struct CacheKeyView {
  std::string_view from;
  std::string_view type;
};

struct CacheKey {
  CacheKey(std::string_view from, std::string_view type) : from_size(from.size()) {
    text.reserve(from.size() + type.size());
    text.append(from);
    text.append(type);
  }
  CacheKeyView view() const {
    const std::string_view all(text);
    return CacheKeyView{all.substr(0, from_size), all.substr(from_size)};
  }

  std::string text;  // from, then type
  size_t from_size;
};

struct CacheKeyHash {
  using is_transparent = void;
  size_t operator()(CacheKeyView key) const {
    size_t h = std::hash<std::string_view>()(key.from);
    h ^= std::hash<std::string_view>()(key.type) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }
  size_t operator()(const CacheKey& key) const { return (*this)(key.view()); }
};

struct CacheKeyEqual {
  using is_transparent = void;
  bool operator()(CacheKeyView a, CacheKeyView b) const {
    return a.from == b.from && a.type == b.type;
  }
  bool operator()(const CacheKey& a, const CacheKey& b) const {
    return (*this)(a.view(), b.view());
  }
  bool operator()(CacheKeyView a, const CacheKey& b) const { return (*this)(a, b.view()); }
  bool operator()(const CacheKey& a, CacheKeyView b) const { return (*this)(a.view(), b); }
};

// What is known about every event with a given (from, type).
struct CacheEntry {
  std::vector<uint32_t> routes;  // routes whose `from` and type match, in config order
  // When none of those routes is conditional, the whole answer, computed once.
  bool conditional = false;
  std::vector<RouteTarget> targets;
};

}  // namespace

Status validate_type_pattern(std::string_view pattern) {
  return TypePattern::compile(pattern).status();
}

Status validate_instance_glob(std::string_view glob) {
  if (glob.empty()) {
    return Status::Error("instance glob is empty (use \"*\" to match every instance)");
  }
  for (size_t i = 0; i < glob.size(); ++i) {
    if (!allowed_in_instance_glob(glob[i])) {
      return Status::Error("instance glob \"" + std::string(glob) + "\": " +
                           describe_char(glob[i]) + " at position " + std::to_string(i + 1) +
                           " is not allowed (only letters, digits, '_', '.', '-', and the "
                           "wildcards '*' and '?')");
    }
  }
  return Status::Ok();
}

struct RouteTable::Impl {
  std::vector<CompiledRoute> routes;
  std::vector<std::string> destinations;

  // Per-match scratch, kept here so match() never allocates for it. seen[d] == generation means
  // destination d is already in this call's answer; bumping generation forgets them all at once.
  std::vector<uint32_t> seen;
  uint32_t generation = 0;

  std::unordered_map<CacheKey, CacheEntry, CacheKeyHash, CacheKeyEqual> cache;

  void next_generation() {
    if (++generation == 0) {  // wrapped: stale marks could collide with the new value
      std::fill(seen.begin(), seen.end(), 0);
      generation = 1;
    }
  }

  // REQUIRES: next_generation() was called for the answer being built.
  void append_targets(uint32_t route, std::vector<RouteTarget>& out) {
    for (uint32_t destination : routes[route].destinations) {
      if (seen[destination] != generation) {
        seen[destination] = generation;
        out.push_back(RouteTarget{route, destination});
      }
    }
  }

  const CacheEntry& lookup(std::string_view from, std::string_view type) {
    if (auto it = cache.find(CacheKeyView{from, type}); it != cache.end()) {
      return it->second;
    }
    if (cache.size() >= kMaxCacheEntries) {
      cache.clear();
    }
    CacheEntry entry;
    for (uint32_t r = 0; r < routes.size(); ++r) {
      const CompiledRoute& route = routes[r];
      if (route.matches_from(from) && route.matches_type(type)) {
        entry.routes.push_back(r);
        entry.conditional = entry.conditional || route.conditional();
      }
    }
    if (!entry.conditional) {
      next_generation();
      for (uint32_t r : entry.routes) {
        append_targets(r, entry.targets);
      }
    }
    return cache.emplace(CacheKey(from, type), std::move(entry)).first->second;
  }

  void match(std::string_view from, const simpang::v1::Event& event,
             std::vector<RouteTarget>& out) {
    const CacheEntry& entry = lookup(from, event.type());
    if (!entry.conditional) {
      out.insert(out.end(), entry.targets.begin(), entry.targets.end());
      return;
    }
    next_generation();
    for (uint32_t r : entry.routes) {
      if (routes[r].conditions_hold(event)) {
        append_targets(r, out);
      }
    }
  }
};

StatusOr<std::unique_ptr<RouteTable>> RouteTable::compile(const std::vector<RouteConfig>& routes) {
  std::vector<const RouteConfig*> ordered;
  for (const RouteConfig& config : routes) {
    ordered.push_back(&config);
  }
  return compile_ordered(ordered, {}, {});
}

StatusOr<std::unique_ptr<RouteTable>> RouteTable::compile(const std::vector<RouteConfig>& routes,
                                                          const RouteTable& previous) {
  // Every route of `previous` keeps its index: with its new configuration, or disabled when it is
  // gone. Routes new in `routes` come after them.
  std::vector<const RouteConfig*> ordered;
  std::vector<std::string> disabled_names;
  std::vector<bool> taken(routes.size(), false);
  for (const CompiledRoute& old : previous.impl_->routes) {
    const RouteConfig* found = nullptr;
    for (size_t i = 0; i < routes.size(); ++i) {
      if (!taken[i] && routes[i].name == old.name) {
        found = &routes[i];
        taken[i] = true;
        break;
      }
    }
    ordered.push_back(found);
    disabled_names.push_back(found == nullptr ? old.name : std::string());
  }
  for (size_t i = 0; i < routes.size(); ++i) {
    if (!taken[i]) {
      ordered.push_back(&routes[i]);
      disabled_names.emplace_back();
    }
  }
  return compile_ordered(ordered, disabled_names, previous.impl_->destinations);
}

StatusOr<std::unique_ptr<RouteTable>> RouteTable::compile_ordered(
    const std::vector<const RouteConfig*>& ordered, const std::vector<std::string>& disabled_names,
    const std::vector<std::string>& destinations) {
  auto impl = std::make_unique<Impl>();
  std::unordered_map<std::string, uint32_t> destination_index;
  for (const std::string& name : destinations) {
    destination_index.emplace(name, static_cast<uint32_t>(impl->destinations.size()));
    impl->destinations.push_back(name);
  }
  impl->routes.reserve(ordered.size());
  for (size_t index = 0; index < ordered.size(); ++index) {
    if (ordered[index] == nullptr) {
      CompiledRoute route;
      route.name = disabled_names[index];
      route.disabled = true;
      impl->routes.push_back(std::move(route));
      continue;
    }
    const RouteConfig& config = *ordered[index];
    const std::string where = "route \"" + config.name + "\": ";
    CompiledRoute route;
    route.name = config.name;

    route.any_from = config.from.empty();
    for (const std::string& glob : config.from) {
      if (Status s = validate_instance_glob(glob); !s.ok()) {
        return Status::Error(where + "from: " + s.message());
      }
      route.any_from = route.any_from || glob.find_first_not_of('*') == std::string::npos;
      route.from.push_back(glob);
    }

    route.any_type = config.types.empty();
    for (const std::string& text : config.types) {
      StatusOr<TypePattern> pattern = TypePattern::compile(text);
      if (!pattern.ok()) {
        return Status::Error(where + "match.type: " + pattern.status().message());
      }
      route.any_type = route.any_type || pattern->matches_everything();
      route.types.push_back(std::move(*pattern));
    }

    route.subject_prefix = config.subject_prefix.value_or("");
    for (const auto& [name, value] : config.extensions) {
      route.extensions.push_back(ExtensionCondition{name, value});
    }

    for (const std::string& destination : config.to) {
      const auto [it, inserted] = destination_index.try_emplace(
          destination, static_cast<uint32_t>(impl->destinations.size()));
      if (inserted) {
        impl->destinations.push_back(destination);
      }
      route.destinations.push_back(it->second);
    }
    impl->routes.push_back(std::move(route));
  }
  impl->seen.assign(impl->destinations.size(), 0);
  return std::unique_ptr<RouteTable>(new RouteTable(std::move(impl)));
}

RouteTable::RouteTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouteTable::~RouteTable() = default;

void RouteTable::match(std::string_view from, const simpang::v1::Event& event,
                       std::vector<RouteTarget>& out) const {
  impl_->match(from, event, out);
}

const std::vector<std::string>& RouteTable::destinations() const { return impl_->destinations; }

const std::string& RouteTable::route_name(uint32_t route) const {
  return impl_->routes[route].name;
}

size_t RouteTable::route_count() const { return impl_->routes.size(); }

bool RouteTable::route_active(uint32_t route) const { return !impl_->routes[route].disabled; }

}  // namespace simpang::hub
