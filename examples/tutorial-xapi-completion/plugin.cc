// Exports XapiCompletion as the plugin "xapi-completion". Apart from the class, so the tests link
// the class without the plugin's entry point.
#include "xapi_completion.h"

SIMPANG_PLUGIN(tutorial::XapiCompletion, "xapi-completion", "1.0.0",
               "turns xAPI completed/passed/failed statements into talent.completion.recorded")
