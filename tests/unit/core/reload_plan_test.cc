// What a reload changes, worked out before anything is touched: indices kept, new destinations
// and routes appended in order, policies aligned, a removed route keeping its last policy.
#include "core/reload_plan.h"

#include <gtest/gtest.h>

namespace simpang::hub {
namespace {

RouteConfig route(const std::string& name, std::vector<std::string> to, uint32_t attempts) {
  RouteConfig r;
  r.name = name;
  r.from = {"src"};
  r.types = {"**"};
  r.to = std::move(to);
  r.retry.max_attempts = attempts;
  return r;
}

TEST(ReloadPlanTest, KeepsIndicesAppendsWhatIsNewAndAlignsPolicies) {
  const std::vector<RouteConfig> before = {route("a", {"sink1"}, 1), route("b", {"sink2"}, 2)};
  auto current = RouteTable::compile(before);
  ASSERT_TRUE(current.ok()) << current.status().message();
  const RoutePolicies policies(before);

  const std::vector<RouteConfig> after = {route("c", {"sink3", "sink1"}, 3),
                                          route("a", {"sink1"}, 4)};
  auto plan = plan_reload(**current, policies, after);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const RouteTable& table = *plan->table;
  ASSERT_EQ(table.route_count(), 3u);
  EXPECT_EQ(table.route_name(0), "a");
  EXPECT_EQ(table.route_name(1), "b");
  EXPECT_EQ(table.route_name(2), "c");
  EXPECT_FALSE(table.route_active(1));
  EXPECT_EQ(plan->new_routes, std::vector<std::string>{"c"});
  EXPECT_EQ(plan->new_destinations, std::vector<std::string>{"sink3"});
  ASSERT_EQ(plan->policies.size(), 3u);
  EXPECT_EQ(plan->policies[0].retry.max_attempts, 4u) << "a's new policy";
  EXPECT_EQ(plan->policies[1].retry.max_attempts, 2u) << "b is gone and keeps its last policy";
  EXPECT_EQ(plan->policies[2].retry.max_attempts, 3u);
}

TEST(ReloadPlanTest, RoutesThatDoNotCompileChangeNothing) {
  const std::vector<RouteConfig> before = {route("a", {"sink1"}, 1)};
  auto current = RouteTable::compile(before);
  ASSERT_TRUE(current.ok());
  RouteConfig bad = route("bad", {"sink1"}, 1);
  bad.types = {"a..b"};
  auto plan = plan_reload(**current, RoutePolicies(before), {bad});
  EXPECT_FALSE(plan.ok());
}

}  // namespace
}  // namespace simpang::hub
