// Exports LmsCaliper as the plugin "lms-caliper". Kept apart from the class so tests can link the
// class without the ABI entry point.
#include "lms_caliper.h"

SIMPANG_PLUGIN(simpang::plugins::lms_caliper::LmsCaliper, "lms-caliper", "1.0.0",
               "an IMS Caliper 1.1/1.2 and Canvas live events endpoint")
