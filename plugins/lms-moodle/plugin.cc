// Exports LmsMoodle as the plugin "lms-moodle". Kept apart from the class so tests can link the
// class without the ABI entry point.
#include "lms_moodle.h"

SIMPANG_PLUGIN(simpang::plugins::lms_moodle::LmsMoodle, "lms-moodle", "1.0.0",
               "polls a Moodle site's web services for courses, enrolments, completions and badges")
