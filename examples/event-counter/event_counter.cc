// event-counter: a sink that counts the events it receives per type and, when stopped, writes
// the counts as JSON to `path` (relative to its state directory). A minimal, complete plugin.
#include <fstream>
#include <map>
#include <string>

#include <simpang/sdk/plugin.h>

namespace {

class EventCounter : public simpang::sdk::Sink {
 public:
  explicit EventCounter(simpang::sdk::Context& ctx)
      : path_(ctx.state_dir() / ctx.config().value("path", std::string("counts.json"))) {}

  simpang::sdk::Outcome on_event(simpang::sdk::Context& ctx,
                                 const simpang::v1::Event& event) override {
    ++counts_[event.type()];
    return simpang::sdk::Outcome::ack();
  }

  void on_stop(simpang::sdk::Context& ctx) override {
    std::ofstream out(path_, std::ios::trunc);
    out << nlohmann::json(counts_).dump() << "\n";
    ctx.log(simpang::sdk::LogLevel::kInfo, "wrote counts to " + path_.string());
  }

 private:
  std::filesystem::path path_;
  std::map<std::string, uint64_t> counts_;
};

}  // namespace

SIMPANG_PLUGIN(EventCounter, "event-counter", "1.0.0", "counts events per type")
