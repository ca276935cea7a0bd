// The Caliper event profiles; see caliper_profiles.h. Actions and object types follow the
// Caliper Analytics 1.1 and 1.2 specifications' event sections (the profile tables).
#include "caliper_profiles.h"

#include <algorithm>
#include <string>

namespace simpang::plugins::lms_caliper {
namespace {

// Entity types a navigation or resource management event may target.
const std::vector<std::string_view> kResourceTypes = {
    "DigitalResource", "DigitalResourceCollection", "Document",   "Chapter",      "Page",
    "Frame",           "WebPage",                   "Reading",    "MediaObject",  "AudioObject",
    "ImageObject",     "VideoObject",               "Assessment", "AssessmentItem",
    "AssignableDigitalResource", "Forum",           "Thread",     "Message",      "SoftwareApplication",
    "LtiLink",         "CourseOffering",            "CourseSection"};

const std::vector<EventProfile>& profiles() {
  static const std::vector<EventProfile> table = {
      {"SessionEvent", Version::kV1p1, {"LoggedIn", "LoggedOut", "TimedOut"},
       {"SoftwareApplication"}},
      {"NavigationEvent", Version::kV1p1, {"NavigatedTo"}, kResourceTypes},
      {"AssessmentEvent", Version::kV1p1,
       {"Started", "Paused", "Resumed", "Restarted", "Reset", "Submitted"}, {"Assessment"}},
      {"AssessmentItemEvent", Version::kV1p1, {"Started", "Skipped", "Completed"},
       {"AssessmentItem"}},
      {"GradeEvent", Version::kV1p1, {"Graded"}, {"Attempt"}},
      {"ToolUseEvent", Version::kV1p1, {"Used"}, {"SoftwareApplication"}},
      {"ResourceManagementEvent", Version::kV1p1,
       {"Archived", "Copied", "Created", "Deleted", "Described", "Downloaded", "Modified",
        "Printed", "Published", "Restored", "Retracted", "Saved", "Unpublished", "Uploaded"},
       kResourceTypes},
      {"ViewEvent", Version::kV1p1, {"Viewed"}, kResourceTypes},
      {"AnnotationEvent", Version::kV1p1,
       {"Bookmarked", "Highlighted", "Shared", "Tagged"}, kResourceTypes},
      {"AssignableEvent", Version::kV1p1,
       {"Activated", "Deactivated", "Started", "Completed", "Submitted", "Reviewed"},
       {"AssignableDigitalResource", "Assessment"}},
      {"ForumEvent", Version::kV1p1, {"Subscribed", "Unsubscribed"}, {"Forum"}},
      {"MessageEvent", Version::kV1p1, {"Posted", "MarkedAsRead", "MarkedAsUnread"}, {"Message"}},
      {"ThreadEvent", Version::kV1p1, {"MarkedAsRead", "MarkedAsUnread"}, {"Thread"}},
      {"MediaEvent", Version::kV1p1,
       {"Started", "Ended", "Paused", "Resumed", "Restarted", "ForwardedTo", "JumpedTo",
        "ChangedResolution", "ChangedSize", "ChangedSpeed", "ChangedVolume", "EnabledClosedCaptioning",
        "DisabledClosedCaptioning", "EnteredFullScreen", "ExitedFullScreen", "Muted", "Unmuted",
        "OpenedPopout", "ClosedPopout"},
       {}},
      {"Event", Version::kV1p1, {}, {}},
      // Added in 1.2.
      {"SearchEvent", Version::kV1p2, {"Searched"}, {}},
      {"ToolLaunchEvent", Version::kV1p2, {"Launched", "Returned"}, {"SoftwareApplication"}},
      {"SurveyEvent", Version::kV1p2, {"OptedIn", "OptedOut"}, {"Survey"}},
      {"SurveyInvitationEvent", Version::kV1p2, {"Sent", "Accepted", "Declined"},
       {"SurveyInvitation"}},
      {"QuestionnaireEvent", Version::kV1p2, {"Started", "Submitted"}, {"Questionnaire"}},
      {"QuestionnaireItemEvent", Version::kV1p2, {"Started", "Skipped", "Completed"},
       {"QuestionnaireItem"}},
      {"FeedbackEvent", Version::kV1p2, {"Commented", "Ranked"}, {}},
  };
  return table;
}

}  // namespace

const EventProfile* find_profile_any_version(std::string_view type) {
  for (const EventProfile& p : profiles()) {
    if (p.type == type) return &p;
  }
  return nullptr;
}

const EventProfile* find_profile(std::string_view type, Version version) {
  const EventProfile* p = find_profile_any_version(type);
  if (p == nullptr || (p->since == Version::kV1p2 && version == Version::kV1p1)) return nullptr;
  return p;
}

bool is_v1p2_action(std::string_view action) {
  static const std::vector<std::string_view> added = {
      "Searched", "Launched", "Returned", "OptedIn", "OptedOut", "Sent", "Accepted",
      "Declined", "Commented", "Ranked"};
  return std::find(added.begin(), added.end(), action) != added.end();
}

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace simpang::plugins::lms_caliper
