#include "core/event_record.h"

namespace simpang::hub {

EventRecord::EventRecord(std::string body, const simpang::v1::Event& attributes,
                         const AttributeSpans& spans)
    : owned_(std::move(body)), body_(&owned_) {
  keep(attributes, spans);
}

EventRecord::EventRecord(std::shared_ptr<const std::string> stored, simpang::v1::Event& scratch)
    : stored_(std::move(stored)), body_(stored_.get()) {
  if (body_ == nullptr) {
    stored_ = std::make_shared<const std::string>();
    body_ = stored_.get();
  }
  AttributeSpans spans;
  if (!parse_event_attributes(body_->data(), body_->size(), scratch, &spans)) {
    scratch.Clear();
  }
  keep(scratch, spans);
}

void EventRecord::keep(const simpang::v1::Event& attributes, const AttributeSpans& spans) {
  spans_ = spans;
  if (!spans_.exact) {
    copies_ = std::make_unique<const Copies>(
        Copies{attributes.id(), attributes.type(), attributes.subject()});
  }
}

}  // namespace simpang::hub
