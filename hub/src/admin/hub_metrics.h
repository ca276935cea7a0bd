// The hub's /metrics page: a HubSnapshot as Prometheus text exposition (admin/exposition.h).
// Labels are only names from the configuration (route, destination, instance) and the fixed set of
// instance states, so the number of series is bounded by the configuration, never by traffic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/running_hub.h"

namespace simpang::hub::admin {

struct MetricsContext {
  std::string version;                         // simpang_build_info{version}
  std::optional<uint64_t> journal_file_bytes;  // the journal's files on disk; none: no file
};

// At most this many families of plugin metrics (ctx.count / gauge) are exposed; the rest are
// left out and counted in simpang_plugin_metrics_dropped.
inline constexpr size_t kMaxPluginFamilies = 512;

// Thread rule: none (a pure function of its arguments).
std::string render_metrics(const HubSnapshot& snapshot, const MetricsContext& context);

}  // namespace simpang::hub::admin
