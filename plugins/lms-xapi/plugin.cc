// Exports LmsXapi as the plugin "lms-xapi". Kept apart from the class so tests can link the class
// without the ABI entry point.
#include "lms_xapi.h"

SIMPANG_PLUGIN(simpang::plugins::lms_xapi::LmsXapi, "lms-xapi", "1.0.0",
               "an xAPI 1.0.3 LRS: takes statements over HTTP, keeps them, publishes them")
